// clip-server page: what narrows a search (DESIGN.md 3, POST /search): taken between two dates
// (`after`, `before`; the "To" day is included), under a folder (`folder`), sorted by date
// (`sort`), and words in file names and keywords counted too (`hybrid`); and the status of the
// `serve --library` folders (GET /library), refreshed while the page is open. app.js calls
// `searchFilters.apply(request)` before each search; this file loads after it and wires itself.
"use strict";

window.searchFilters = (() => {
  const DAY_MS = 86_400_000;

  /// "2024-05-01" from a date input, as the API reads it (midnight UTC).
  const nextDay = (value) => new Date(Date.parse(`${value}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);

  function apply(request) {
    const after = $("filter-after").value, before = $("filter-before").value;
    const folder = $("filter-folder").value.trim(), sort = $("filter-sort").value;
    if (after) request.after = after;
    if (before) request.before = nextDay(before);
    if (folder) request.folder = folder;
    if (sort !== "relevance") request.sort = sort;
    if ($("filter-hybrid").checked && (request.text || request.queries)) request.hybrid = true;
    return request;
  }

  /// How many filters are set, for the summary line of the collapsed section.
  function describe() {
    const set = ["filter-after", "filter-before", "filter-folder"].filter((id) => $(id).value.trim()).length
      + ($("filter-sort").value !== "relevance" ? 1 : 0) + ($("filter-hybrid").checked ? 1 : 0);
    $("filters-summary").textContent = set ? `Filters (${set})` : "Filters";
  }

  function formatStatus(folders) {
    return folders.map((f) => {
      const when = f.last_scan ? `last scan ${new Date(f.last_scan).toLocaleTimeString()}` : "first scan running";
      const pending = f.pending ? `, ${f.pending} pending` : "";
      const mode = f.watching ? "watched" : "scanned periodically";
      return `${f.path}: ${f.files} files${pending} (${mode}, ${when})`;
    }).join(" · ");
  }

  async function refreshLibrary() {
    try {
      const { folders } = await api("/library");
      $("library-status").hidden = folders.length === 0;
      $("library-status").textContent = folders.length ? `Library: ${formatStatus(folders)}` : "";
      const options = $("filter-folders");
      options.replaceChildren(...folders.map((f) => Object.assign(document.createElement("option"), { value: f.path })));
      return folders.length > 0;
    } catch {
      return true; // not ready yet: look again
    }
  }

  async function watchLibrary() {
    if (await refreshLibrary()) setInterval(refreshLibrary, 5000);
  }

  function wire(rerun) {
    for (const id of ["filter-after", "filter-before", "filter-folder", "filter-sort", "filter-hybrid"]) {
      $(id).addEventListener("change", () => { describe(); rerun(); });
    }
    $("filters-clear").addEventListener("click", () => {
      for (const id of ["filter-after", "filter-before", "filter-folder"]) $(id).value = "";
      $("filter-sort").value = "relevance";
      $("filter-hybrid").checked = false;
      describe();
      rerun();
    });
    describe();
    watchLibrary();
  }

  wire(() => run(lastQuery || queryFromURL()));
  return { apply };
})();
