// One query in every search mode at once (POST /v1/collections/{name}/search, mode dense | bm25 |
// hybrid), shown side by side: each hit's score in its mode's own measure, the query's words marked
// in the snippet, and where the same chunk ranks in the other modes.
import { api, clear, el } from "/static/js/app.js";
import { shortPath } from "/static/js/registry-common.js";

export const MODES = [["dense", "Dense"], ["bm25", "BM25"], ["hybrid", "Hybrid"]];
const SNIPPET = 280;

function marked(text, query) {
  const terms = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) || [])];
  if (!terms.length) return text;
  const re = new RegExp(`(${terms.map(t => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`, "giu");
  return text.split(re).map((part, i) => (i % 2 ? el("mark", {}, part) : part));
}

function hitCard(hit, mode, query, ranks) {
  const snippet = hit.text.replace(/\s+/g, " ").trim();
  const others = MODES.filter(([m]) => m !== mode).map(([m, label]) => `${label} ${ranks[m]?.[hit.id] ? "#" + ranks[m][hit.id] : "–"}`);
  return el("li", { class: "hit", "data-id": hit.id },
    el("div", { class: "hit-top" }, el("strong", {}, `${hit.rank}.`),
      el("span", { class: "title" }, hit.title || hit.source.split("/").pop() || hit.id),
      el("span", { class: "score", title: "score" }, hit.score.toFixed(4))),
    el("div", { class: "src", title: hit.source }, shortPath(hit.source, 2), hit.section ? ` § ${hit.section}` : ""),
    el("div", { class: "snippet" }, marked(snippet.slice(0, SNIPPET), query), snippet.length > SNIPPET ? "…" : ""),
    el("div", { class: "others" }, "also: " + others.join(" · ")));
}

// Search `collection` for `query` in every mode; fill `container` with one column per mode. A
// mode that fails (no embedding model for dense) shows its own error; the others still show.
export async function searchAll(container, collection, query, k) {
  container.hidden = false;
  clear(container, MODES.map(([mode, label]) => el("div", { class: "mode-col", "data-mode": mode },
    el("h3", {}, label), el("p", { class: "muted small" }, "searching…"))));
  const settled = await Promise.allSettled(MODES.map(([mode]) =>
    api(`/v1/collections/${encodeURIComponent(collection)}/search`, { method: "POST", body: { query, mode, k } })));
  const ranks = {};
  settled.forEach((s, i) => {
    if (s.status === "fulfilled") ranks[MODES[i][0]] = Object.fromEntries(s.value.hits.map(h => [h.id, h.rank]));
  });
  clear(container, MODES.map(([mode, label], i) => {
    const s = settled[i];
    const col = el("div", { class: "mode-col", "data-mode": mode });
    if (s.status === "rejected") {
      col.append(el("h3", {}, label), el("p", { class: "error" }, s.reason?.message || String(s.reason)));
      return col;
    }
    const r = s.value;
    col.append(el("h3", {}, label, el("span", { class: "muted small" }, `${r.score_kind} · ${r.took_ms.toFixed(0)} ms`)),
      r.hits.length ? el("ol", { class: "hits" }, r.hits.map(h => hitCard(h, mode, query, ranks)))
        : el("p", { class: "empty" }, "No results."));
    return col;
  }));
}
