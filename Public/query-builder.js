// clip-server page: the combined query ("queries" of POST /search): texts, library images and image
// files, each with a weight; the sum of their unit vectors times the weights is searched. Opened by
// "Combine…", by "More like this" (the image becomes its first part) and by "Add to combined query"
// in the larger view. Uses app.js's helpers ($, run, setStatus, baseName, viewing).
"use strict";

window.queryBuilder = (() => {
  const MAX_PARTS = 16; // the server's limit for "queries"
  let parts = []; // { kind: "text"|"image_id"|"image", value, label, preview, weight }

  const status = (text, isError = false) => {
    $("builder-status").textContent = text;
    $("builder-status").classList.toggle("error", isError);
  };

  function open() {
    $("builder").hidden = false;
    $("builder-text").focus();
  }

  function add(part) {
    if (parts.length >= MAX_PARTS) { status(`At most ${MAX_PARTS} parts.`, true); return false; }
    parts.push({ weight: 1, ...part });
    status("");
    render();
    return true;
  }

  const addLibraryImage = (hit) => add({ kind: "image_id", value: hit.id, label: `${baseName(hit.source)} (#${hit.id})`, preview: hit.thumbnail_url });

  /// "More like this": a fresh combined query that starts with this image.
  function startFrom(hit) {
    parts = [];
    addLibraryImage(hit);
    $("builder").hidden = false;
  }

  function addText() {
    const text = $("builder-text").value.trim();
    if (!text) { status("Type a text to add.", true); $("builder-text").focus(); return; }
    if (add({ kind: "text", value: text, label: `“${text}”` })) $("builder-text").value = "";
  }

  /// An image file from this computer, sent as base64 with the query (not added to the library).
  function addFile(file) {
    const reader = new FileReader();
    reader.onload = () => add({ kind: "image", value: String(reader.result), label: file.name, preview: String(reader.result) });
    reader.onerror = () => status(`Could not read ${file.name}.`, true);
    reader.readAsDataURL(file);
  }

  function render() {
    const items = parts.map((part, index) => {
      const item = document.createElement("li");
      item.className = "part";
      item.dataset.kind = part.kind;
      if (part.preview) {
        const img = document.createElement("img");
        img.src = part.preview;
        img.alt = "";
        item.append(img);
      }
      const label = document.createElement("span");
      label.className = "part-label";
      label.textContent = part.kind === "text" ? part.label : `image ${part.label}`;
      const weightLabel = document.createElement("label");
      weightLabel.textContent = "Weight ";
      const weight = document.createElement("input");
      weight.type = "number";
      weight.step = "0.1";
      weight.min = "-100";
      weight.max = "100";
      weight.value = String(part.weight);
      weight.className = "part-weight";
      weight.setAttribute("aria-label", `Weight of ${part.label}`);
      weight.addEventListener("input", () => { part.weight = weight.valueAsNumber; });
      weightLabel.append(weight);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "part-remove";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove ${part.label}`);
      remove.addEventListener("click", () => { parts.splice(index, 1); render(); });
      item.append(label, weightLabel, remove);
      return item;
    });
    $("builder-parts").replaceChildren(...items);
    $("builder-search").disabled = parts.length === 0;
  }

  /// The "queries" of POST /search, or null (with the reason shown) when a weight is not a number.
  function queries() {
    const bad = parts.find((part) => !Number.isFinite(part.weight) || Math.abs(part.weight) > 100);
    if (bad) { status(`The weight of ${bad.label} must be a number between -100 and 100.`, true); return null; }
    return parts.map((part) => {
      const value = part.kind === "image" ? part.value.slice(part.value.indexOf(",") + 1) : part.value;
      return { [part.kind]: value, weight: part.weight };
    });
  }

  function search() {
    if (!parts.length) { status("Add a text or an image first.", true); return; }
    const combined = queries();
    if (!combined) return;
    status("");
    run({ q: "", like: "", without: $("without").value.trim(), k: $("k").value, queries: combined });
  }

  function wire() {
    $("builder-open").addEventListener("click", () => {
      const text = $("q").value.trim();
      if (text && !parts.some((part) => part.kind === "text" && part.value === text)) add({ kind: "text", value: text, label: `“${text}”` });
      open();
    });
    $("builder-add-text").addEventListener("click", addText);
    $("builder-text").addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); addText(); } });
    $("builder-file").addEventListener("change", () => {
      for (const file of $("builder-file").files) addFile(file);
      $("builder-file").value = "";
    });
    $("builder-search").addEventListener("click", search);
    $("builder-clear").addEventListener("click", () => { parts = []; status(""); render(); });
    $("builder-close").addEventListener("click", () => { $("builder").hidden = true; $("builder-open").focus(); });
    $("viewer-add").addEventListener("click", () => {
      addLibraryImage(viewing.hit);
      $("viewer").close();
      open();
    });
    render();
  }

  wire();
  return { startFrom, addLibraryImage, open };
})();
