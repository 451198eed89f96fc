// clip-server page: review near-duplicates (GET /duplicates) and delete the extras
// (DELETE /images/{id}, with the API key when the server wants one). Every image of a group but
// the first (the oldest) starts ticked for deletion; nothing is deleted before "Delete" is
// confirmed. Uses app.js's helpers ($, api, askForKey, refreshInfo, run, queryFromURL, knownSources).
"use strict";

(() => {
  const LIMIT = 100;

  const status = (text, isError = false) => {
    $("dup-status").textContent = text;
    $("dup-status").classList.toggle("error", isError);
  };

  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  const nameOf = (id) => knownSources.get(String(id)) || `#${id}`;

  async function find(event) {
    event?.preventDefault();
    const minScore = $("dup-min").valueAsNumber;
    if (!(minScore >= 0.5 && minScore <= 1)) { status("Similarity must be between 0.5 and 1.", true); return; }
    status("Looking for near-duplicates…");
    $("dup-groups").replaceChildren();
    let answer;
    try {
      answer = await api(`/duplicates?min_score=${minScore}&limit=${LIMIT}`);
    } catch (error) {
      status(`Finding duplicates failed: ${error.message}`, true);
      return;
    }
    const groups = answer.groups;
    $("dup-groups").replaceChildren(...groups.map(renderGroup));
    status(groups.length
      ? `${plural(groups.length, "group", "groups")} of near-identical images (similarity ≥ ${minScore})${groups.length === LIMIT ? `; the first ${LIMIT} shown` : ""}.`
      : `No near-duplicates at similarity ≥ ${minScore}.`);
  }

  function renderGroup(group) {
    const item = document.createElement("li");
    item.className = "dup-group";
    const heading = document.createElement("p");
    heading.className = "dup-heading";
    heading.textContent = `${plural(group.ids.length, "image", "images")}, lowest similarity ${group.score.toFixed(3)}`;
    const tiles = document.createElement("ul");
    tiles.className = "dup-tiles";
    group.ids.forEach((id, index) => {
      const tile = document.createElement("li");
      tile.className = "dup-tile";
      tile.dataset.id = id;
      const link = document.createElement("a");
      link.href = `/images/${id}`;
      link.target = "_blank";
      link.rel = "noopener";
      const img = document.createElement("img");
      img.src = `/images/${id}/thumbnail`;
      img.alt = nameOf(id);
      img.loading = "lazy";
      link.append(img);
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.className = "dup-pick";
      box.value = id;
      box.checked = index > 0;
      label.append(box, ` Delete ${nameOf(id)}`);
      tile.append(link, label);
      tiles.append(tile);
    });
    const actions = document.createElement("p");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "danger dup-delete";
    const line = document.createElement("span");
    line.className = "dup-line";
    line.setAttribute("role", "status");
    const count = () => tiles.querySelectorAll(".dup-pick:checked").length;
    const label = () => { remove.textContent = `Delete ${plural(count(), "selected image", "selected images")}`; remove.disabled = count() === 0; };
    tiles.addEventListener("change", label);
    remove.addEventListener("click", () => deletePicked(item, tiles, line, label));
    label();
    actions.append(remove, " ", line);
    item.append(heading, tiles, actions);
    return item;
  }

  async function deletePicked(item, tiles, line, relabel) {
    const picked = [...tiles.querySelectorAll(".dup-pick:checked")].map((box) => Number(box.value));
    if (!picked.length) return;
    if (picked.length === tiles.children.length && !confirm("Every image of this group is ticked: delete them all?")) return;
    if (!confirm(`Delete ${plural(picked.length, "image", "images")} (${picked.map(nameOf).join(", ")}) from the index?`)) return;
    line.classList.remove("error");
    let deleted = 0;
    for (const id of picked) {
      line.textContent = `Deleting ${nameOf(id)}…`;
      try {
        await api(`/images/${id}`, { method: "DELETE", write: true });
      } catch (error) {
        if (error.status === 404) { /* already gone: nothing left to delete */ } else {
          line.textContent = error.status === 401 ? `Deleting needs an API key: ${error.message}` : `Delete failed: ${error.message}`;
          line.classList.add("error");
          if (error.status === 401) askForKey("Deleting needs an API key.");
          break;
        }
      }
      tiles.querySelector(`.dup-tile[data-id="${id}"]`)?.remove();
      deleted += 1;
    }
    if (deleted) {
      refreshInfo();
      run(queryFromURL());
    }
    if (tiles.children.length < 2) {
      item.remove();
      status(`Deleted ${plural(deleted, "image", "images")}; that group is done.`);
    } else if (!line.classList.contains("error")) {
      line.textContent = `Deleted ${plural(deleted, "image", "images")}.`;
    }
    relabel();
  }

  $("dup-form").addEventListener("submit", find);
})();
