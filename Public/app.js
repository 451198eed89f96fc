// clip-server page: search by text or "more like this", browse, upload, delete. Talks only to this
// server's HTTP API (DESIGN.md section 3); no framework, no build step. query-builder.js (combined
// queries) and duplicates.js (near-duplicate review) load after this file and use its helpers.
"use strict";

const $ = (id) => document.getElementById(id);
const DEFAULT_K = "24";
const DEBOUNCE_MS = 300;
const KEY_STORAGE = "clip-server.api-key";
const AUTOCUT_STORAGE = "clip-server.autocut";
const NO_IMAGES = "No images indexed yet: add some below.";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const baseName = (path) => String(path).split(/[\\/]/).pop() || String(path);

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

// MARK: - HTTP

class HTTPError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/// The server's message from its `{"error":{"code","message"}}` envelope, else the status line.
function errorMessage(status, statusText, data, text) {
  if (data && data.error && data.error.message) return data.error.message;
  if (status === 0) return "cannot reach the server";
  return `${status} ${statusText}${text ? ": " + text.slice(0, 200) : ""}`;
}

const parseJSON = (text) => { try { return text ? JSON.parse(text) : null; } catch { return null; } };

async function api(path, { method = "GET", json, write = false, signal } = {}) {
  const headers = write ? authHeaders() : {};
  let body;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  let response;
  try {
    response = await fetch(path, { method, headers, body, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new HTTPError(0, `cannot reach the server (${error.message})`);
  }
  const text = await response.text();
  const data = parseJSON(text);
  if (!response.ok) throw new HTTPError(response.status, errorMessage(response.status, response.statusText, data, text));
  return data;
}

// MARK: - API key (only when the server was started with --api-key)

function storedKey() { try { return localStorage.getItem(KEY_STORAGE) || ""; } catch { return ""; } }
function saveKey(key) {
  try { key ? localStorage.setItem(KEY_STORAGE, key) : localStorage.removeItem(KEY_STORAGE); } catch { /* storage disabled */ }
  $("api-key").value = $("viewer-api-key").value = key;
}
function authHeaders() { const key = storedKey(); return key ? { Authorization: `Bearer ${key}` } : {}; }

function askForKey(message) {
  $("keybox").open = true;
  $("key-note").textContent = `${message} Enter the server's API key; this browser keeps it and sends it with uploads and deletes.`;
  $("key-note").classList.add("error");
  $("api-key").focus();
}

// MARK: - Readiness and model info

function showModelInfo(info) {
  const parts = [];
  if (typeof info.model === "string") parts.push(`Model: ${info.model}`);
  if (typeof info.images === "number") parts.push(`${info.images} ${info.images === 1 ? "image" : "images"} indexed`);
  $("model-info").textContent = parts.join(" · ");
  const banner = $("demo-banner");
  banner.hidden = info.demo !== true;
  if (info.demo === true) {
    banner.textContent = `Demo model: ${info.demo_note || "search results are not meaningful until the real CLIP model is installed."}`;
  }
}

/// Polls /readyz until it answers 200; says "loading model…" (503) or the network error meanwhile.
async function waitUntilReady() {
  for (;;) {
    try {
      showModelInfo((await api("/readyz")) || {});
      return;
    } catch (error) {
      if (error.status === 503) setStatus("Loading model… (retrying)");
      else setStatus(`Server not reachable: ${error.message}. Retrying…`, true);
      await sleep(1000);
    }
  }
}

const refreshInfo = () => api("/readyz").then((info) => showModelInfo(info || {}), () => {});

// MARK: - Query state: the URL is the source of truth (/?q=..&without=..&k=.. or /?like=ID)

function queryFromURL() {
  const params = new URLSearchParams(location.search);
  return { q: params.get("q") || "", like: params.get("like") || "", without: params.get("without") || "", k: params.get("k") || DEFAULT_K };
}

function queryFromForm(like = "") {
  const q = $("q").value.trim();
  // An empty box keeps a "more like this" query alive while the other fields change.
  if (!q && !like) like = queryFromURL().like;
  return { q: like ? "" : q, like, without: $("without").value.trim(), k: $("k").value };
}

function urlFor(query) {
  const params = new URLSearchParams();
  if (query.like) params.set("like", query.like); else if (query.q) params.set("q", query.q);
  if (query.without) params.set("without", query.without);
  if (query.k !== DEFAULT_K) params.set("k", query.k);
  const search = params.toString();
  return search ? `/?${search}` : "/";
}

function setURL(query, push) {
  const url = urlFor(query);
  if (url !== location.pathname + location.search) history[push ? "pushState" : "replaceState"](null, "", url);
}

function showQueryInForm(query) {
  $("q").value = query.q;
  $("without").value = query.without;
  const k = String(Math.min(Math.max(parseInt(query.k, 10) || Number(DEFAULT_K), 1), 1000));
  if (![...$("k").options].some((option) => option.value === k)) $("k").add(new Option(k));
  $("k").value = k;
}

// MARK: - Searching and browsing

const knownSources = new Map(); // id → source, to name "more like this" queries
let searchSerial = 0;
let searchAbort = null;

let lastQuery = null; // what the autocut toggle re-runs
const describe = (query) => query.queries ? `the combined query (${query.queries.length} ${query.queries.length === 1 ? "part" : "parts"})`
  : query.like ? `images like ${knownSources.get(query.like) || "#" + query.like}` : `“${query.q}”`;

// Autocut (on unless turned off; the choice is kept in this browser): keep the results before the
// first large jump in score.
function autocutOn() { return $("autocut").checked; }
function loadAutocut() { try { $("autocut").checked = localStorage.getItem(AUTOCUT_STORAGE) !== "off"; } catch { /* storage disabled */ } }
function saveAutocut() { try { localStorage.setItem(AUTOCUT_STORAGE, autocutOn() ? "on" : "off"); } catch { /* storage disabled */ } }

async function emptyMessage(fallback) {
  try {
    const page = await api("/images?limit=1");
    if (page.total === 0) return NO_IMAGES;
  } catch { /* the search already answered; keep its message */ }
  return fallback;
}

async function run(query) {
  const serial = ++searchSerial;
  lastQuery = query;
  searchAbort?.abort();
  searchAbort = new AbortController();
  const signal = searchAbort.signal;
  const k = Number(query.k) || Number(DEFAULT_K);
  const negative = query.without.split(",").map((term) => term.trim()).filter(Boolean);
  try {
    let hits, summary;
    if (query.q || query.like || query.queries) {
      setStatus("Searching…");
      const request = query.queries ? { queries: query.queries, k } : query.like ? { image_id: Number(query.like), k } : { text: query.q, k };
      if (negative.length) request.negative = negative;
      if (autocutOn()) request.autocut = 1;
      window.searchFilters?.apply(request);
      const answer = await api("/search", { method: "POST", json: request, signal });
      hits = answer.results;
      for (const hit of hits) knownSources.set(String(hit.id), baseName(hit.source));
      summary = hits.length
        ? `${hits.length} ${hits.length === 1 ? "result" : "results"} for ${describe(query)} in ${Math.round(answer.took_ms)} ms.`
        : await emptyMessage(`No results for ${describe(query)}.`);
    } else {
      const page = await api(`/images?limit=${k}`, { signal });
      hits = page.images;
      for (const hit of hits) knownSources.set(String(hit.id), baseName(hit.source)); // names for duplicates.js
      summary = page.total ? `${page.total} images indexed; showing ${hits.length}. Type to search.` : NO_IMAGES;
    }
    if (serial !== searchSerial) return;
    render(hits);
    setStatus(summary);
  } catch (error) {
    if (error.name === "AbortError" || serial !== searchSerial) return;
    if (error.status === 503) {
      await waitUntilReady();
      if (serial === searchSerial) run(query);
      return;
    }
    render([]);
    setStatus(`Search failed: ${error.message}`, true);
  }
}

function render(hits) {
  const items = hits.map((hit) => {
    const name = baseName(hit.source);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "hit";
    button.dataset.id = hit.id;
    const hasScore = typeof hit.score === "number";
    button.setAttribute("aria-label", hasScore ? `${name}, score ${hit.score.toFixed(3)}` : name);
    button.addEventListener("click", () => openViewer(hit, button));

    const img = document.createElement("img");
    img.src = hit.thumbnail_url;
    img.alt = name;
    img.loading = "lazy";
    const caption = document.createElement("span");
    caption.className = "caption";
    const source = document.createElement("span");
    source.className = "source";
    source.textContent = name;
    source.title = hit.source;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = hasScore ? hit.score.toFixed(3) : `${hit.width}×${hit.height}`;
    caption.append(source, score);
    button.append(img, caption);

    const item = document.createElement("li");
    item.append(button);
    return item;
  });
  $("results").replaceChildren(...items);
}

/// Arrow keys move between results row by row as laid out; Home/End jump; Enter/Space open (buttons).
function moveFocus(event) {
  const buttons = [...$("results").querySelectorAll(".hit")];
  const index = buttons.indexOf(document.activeElement);
  if (index < 0) return;
  const firstRowTop = buttons[0].getBoundingClientRect().top;
  const columns = buttons.filter((b) => Math.abs(b.getBoundingClientRect().top - firstRowTop) < 1).length || 1;
  const target = { ArrowLeft: index - 1, ArrowRight: index + 1, ArrowUp: index - columns, ArrowDown: index + columns,
    Home: 0, End: buttons.length - 1 }[event.key];
  if (target === undefined || target < 0 || target >= buttons.length) return;
  event.preventDefault();
  buttons[target].focus();
}

// MARK: - Larger view: "more like this" and delete

let viewing = null; // { hit, opener }

function openViewer(hit, opener) {
  viewing = { hit, opener };
  const name = baseName(hit.source);
  $("viewer-title").textContent = name;
  $("viewer-image").removeAttribute("src");
  $("viewer-image").alt = name;
  $("viewer-image").src = hit.url;
  const score = typeof hit.score === "number" ? ` · score ${hit.score.toFixed(3)}` : "";
  const taken = hit.taken_at ? ` · taken ${new Date(hit.taken_at).toLocaleString()}` : "";
  $("viewer-meta").textContent = `${hit.width}×${hit.height}${score}${taken} · ${hit.source}`;
  $("viewer-status").textContent = "";
  $("viewer-status").classList.remove("error");
  $("viewer-key").hidden = true;
  $("viewer").showModal();
}

function viewerStatus(text, isError = false) {
  $("viewer-status").textContent = text;
  $("viewer-status").classList.toggle("error", isError);
}

function moreLikeThis() {
  const query = queryFromForm(String(viewing.hit.id));
  window.queryBuilder?.startFrom(viewing.hit); // the image becomes the first part of a combined query
  $("q").value = "";
  $("viewer").close();
  setURL(query, true);
  run(query);
}

async function deleteViewed(confirmed = false) {
  const { hit } = viewing;
  const name = baseName(hit.source);
  if (!confirmed && !confirm(`Delete ${name} from the index?`)) return;
  viewerStatus(`Deleting ${name}…`);
  try {
    await api(`/images/${hit.id}`, { method: "DELETE", write: true });
  } catch (error) {
    if (error.status === 401) {
      viewerStatus(`Deleting needs an API key: ${error.message}`, true);
      $("viewer-key").hidden = false;
      $("viewer-api-key").focus();
    } else {
      viewerStatus(`Delete failed: ${error.message}`, true);
    }
    return;
  }
  viewing.opener = null;
  $("viewer").close();
  refreshInfo();
  await run(queryFromURL());
  setStatus(`Deleted ${name}. ${$("status").textContent}`);
}

// MARK: - Upload: one file per request, so progress and each file's outcome are honest

const uploadQueue = [];
let uploading = false;
let uploadCounts = { done: 0, all: 0, indexed: 0, duplicate: 0, failed: 0 };

function addFiles(fileList) {
  const files = [...fileList];
  if (!files.length) return;
  if (!uploading) {
    $("upload-results").replaceChildren();
    uploadCounts = { done: 0, all: 0, indexed: 0, duplicate: 0, failed: 0 };
  }
  for (const file of files) {
    const item = document.createElement("li");
    item.textContent = `${file.name}: waiting`;
    $("upload-results").append(item);
    uploadQueue.push({ file, item });
  }
  uploadCounts.all += files.length;
  $("upload-progress").hidden = false;
  showUploadProgress(0, files[0].name);
  if (!uploading) pumpUploads();
}

function showUploadProgress(fraction, name) {
  $("upload-bar").max = uploadCounts.all;
  $("upload-bar").value = uploadCounts.done + fraction;
  $("upload-text").textContent = `${uploadCounts.done} of ${uploadCounts.all} done${name ? `; sending ${name}` : ""}`;
}

/// One multipart request with one `image` part; resolves (never rejects) with status and body.
function sendFile(file, onProgress) {
  return new Promise((resolve) => {
    const form = new FormData();
    form.append("image", file, file.name);
    const request = new XMLHttpRequest();
    request.open("POST", "/index");
    for (const [name, value] of Object.entries(authHeaders())) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
    request.onload = () => resolve({ status: request.status, statusText: request.statusText, text: request.responseText });
    request.onerror = () => resolve({ status: 0, statusText: "", text: "" });
    request.send(form);
  });
}

/// "indexed" / "duplicate" / "failed" and the line to show, from one /index answer.
function uploadOutcome(file, answer) {
  const [kind, message] = uploadResult(file, answer);
  // The server's messages usually begin with the file's name already.
  return [kind, message.startsWith(`${file.name}:`) ? message : `${file.name}: ${message}`];
}

function uploadResult(file, { status, statusText, text }) {
  const data = parseJSON(text);
  if (status === 200 && data) {
    const stored = data.indexed && data.indexed[0];
    if (stored) {
      return stored.duplicate
        ? ["duplicate", `already indexed (duplicate of #${stored.id})`]
        : ["indexed", `indexed as #${stored.id}`];
    }
    const failure = data.errors && data.errors[0];
    if (failure) return ["failed", failure.error];
  }
  if (status === 503) return ["failed", "the server is still loading its model; try again shortly"];
  return ["failed", errorMessage(status, statusText, data, text)];
}

async function pumpUploads() {
  uploading = true;
  while (uploadQueue.length) {
    const { file, item } = uploadQueue.shift();
    item.textContent = `${file.name}: sending…`;
    showUploadProgress(0, file.name);
    const answer = await sendFile(file, (fraction) => showUploadProgress(fraction, file.name));
    const [kind, line] = uploadOutcome(file, answer);
    item.textContent = line;
    item.className = kind === "indexed" ? "ok" : kind;
    uploadCounts[kind] += 1;
    uploadCounts.done += 1;
    showUploadProgress(0, "");
    if (answer.status === 401) {
      // Every later file would fail the same way: stop and ask for the key.
      for (const rest of uploadQueue.splice(0)) {
        rest.item.textContent = `${rest.file.name}: not sent (API key needed)`;
        rest.item.className = "failed";
        uploadCounts.failed += 1;
        uploadCounts.done += 1;
      }
      askForKey("Uploading needs an API key.");
    }
  }
  uploading = false;
  const { indexed, duplicate, failed } = uploadCounts;
  $("upload-text").textContent = `Done: ${indexed} indexed, ${duplicate} ${duplicate === 1 ? "duplicate" : "duplicates"}, ${failed} failed.`;
  $("upload-bar").value = $("upload-bar").max;
  refreshInfo();
  if (indexed) run(queryFromURL());
}

// Drag and drop anywhere on the page; only drags that carry files are taken.
let dragDepth = 0;
const carriesFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
function setDragging(on) { document.body.classList.toggle("dragging", on); if (!on) dragDepth = 0; }

// MARK: - Wiring

function wire() {
  let typingTimer;
  const searchSoon = () => {
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { const query = queryFromForm(); setURL(query, false); run(query); }, DEBOUNCE_MS);
  };
  $("q").addEventListener("input", searchSoon);
  $("without").addEventListener("input", searchSoon);
  $("k").addEventListener("change", () => $("search").requestSubmit());
  loadAutocut();
  $("autocut").addEventListener("change", () => { saveAutocut(); run(lastQuery || queryFromURL()); });
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typingTimer);
    const query = queryFromForm();
    setURL(query, true);
    run(query);
  });
  window.addEventListener("popstate", () => { const query = queryFromURL(); showQueryInForm(query); run(query); });

  $("results").addEventListener("keydown", moveFocus);
  $("viewer-like").addEventListener("click", moreLikeThis);
  $("viewer-delete").addEventListener("click", () => deleteViewed());
  $("viewer-image").addEventListener("error", () => { if ($("viewer-image").src) viewerStatus("The original could not be loaded.", true); });
  $("viewer").addEventListener("close", () => { viewing?.opener?.isConnected && viewing.opener.focus(); });
  $("viewer-key").addEventListener("submit", (event) => {
    event.preventDefault();
    saveKey($("viewer-api-key").value.trim());
    deleteViewed(true);
  });

  $("api-key").value = storedKey();
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveKey($("api-key").value.trim());
    $("key-note").classList.remove("error");
    $("key-note").textContent = storedKey() ? "Saved in this browser; uploads and deletes send it." : "No key saved.";
  });
  $("key-forget").addEventListener("click", () => { saveKey(""); $("key-note").textContent = "Key forgotten."; });

  $("files").addEventListener("change", () => { addFiles($("files").files); $("files").value = ""; });
  document.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    setDragging(true);
  });
  document.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("dragleave", (event) => {
    if (carriesFiles(event) && --dragDepth <= 0) setDragging(false);
  });
  document.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    setDragging(false);
    addFiles(event.dataTransfer.files);
  });
}

async function start() {
  wire();
  const query = queryFromURL();
  showQueryInForm(query);
  await waitUntilReady();
  run(queryFromURL());
}

start();
