// Collections: the RAG collections (GET /v1/collections), one's documents and ingest reports
// (GET /v1/collections/{name}), ingest as a job (uploads or server paths), and search with scores in
// every mode side by side. The URL keeps the selected collection (#name).
import { api, clear, el, fmtNum, fmtTime, poll, reportError, table, toast } from "/static/js/app.js";
import { ingestForm } from "/static/js/collections-ingest.js";
import { searchAll } from "/static/js/collections-search.js";
import { formError, shortPath } from "/static/js/registry-common.js";

const $ = id => document.getElementById(id);
const state = { collections: [], key: "", selected: decodeURIComponent(location.hash.slice(1)) || null };

function chunking(c) {
  const ch = c.settings?.chunking;
  return ch ? `${ch.size ?? "?"} ${ch.unit ?? "chars"}, overlap ${ch.overlap ?? 0}` : "default";
}

function select(name) {
  state.selected = name;
  history.replaceState(null, "", "#" + encodeURIComponent(name));
  renderList();
  $("search-form").elements.collection.value = name;
  showDetail(name).catch(reportError);
}

function renderList() {
  clear($("collections"), table([
    { label: "collection", value: c => el("a", { href: "#" + encodeURIComponent(c.name), class: "adapter-link",
      onclick: ev => { ev.preventDefault(); select(c.name); } }, c.name) },
    { label: "documents", value: c => fmtNum(c.documents), num: true },
    { label: "embedding model", value: c => `${c.embedding_model.split("/").pop()} (${c.dimension})` },
    { label: "chunks", value: c => chunking(c) },
    { label: "created", value: c => fmtTime(c.created_at) },
  ], state.collections, { empty: "No collections yet: ingest some documents.",
    rowAttrs: c => ({ "data-name": c.name, class: c.name === state.selected ? "selected" : null }) }));
  const names = state.collections.map(c => c.name);
  clear($("collection-names"), names.map(n => el("option", { value: n })));
  const sel = $("search-form").elements.collection;
  const current = sel.value || state.selected;
  clear(sel, names.length ? names.map(n => el("option", { value: n }, n)) : el("option", { value: "" }, "no collections yet"));
  if (names.includes(current)) sel.value = current;
}

async function showDetail(name) {
  const d = await api(`/v1/collections/${encodeURIComponent(name)}`);
  if (state.selected !== name) return;
  $("detail-card").hidden = false;
  clear($("detail-title"), d.name, el("span", { class: "muted small" }, ` ${d.documents} documents · ${d.embedding_model}`));
  clear($("detail"),
    el("h3", {}, "Documents"),
    table([{ label: "source", value: x => el("span", { title: x.source }, shortPath(x.source, 2)) },
      { label: "chunks", value: x => x.chunks, num: true },
      { label: "content hash", value: x => el("code", { class: "hash", title: x.content_hash }, x.content_hash.slice(0, 16)) }],
    d.document_list, { empty: "No documents." }),
    el("h3", {}, "Latest ingests"),
    table([{ label: "when", value: r => fmtTime(r.created_at) },
      { label: "source", value: r => el("span", { title: r.source }, shortPath(r.source, 2)) },
      { label: "counts", value: r => Object.entries(r.counts).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(", ") },
      { label: "problems", value: r => r.failures.length ? el("span", { class: "error" },
        r.failures.slice(0, 3).map(f => `${f.kind || "failed"} ${shortPath(f.source)}: ${f.reason}`).join("; ")) : "" }],
    d.reports.slice(0, 10), { empty: "No ingest reports." }));
}

async function refresh() {
  const list = await api("/v1/collections");
  const key = JSON.stringify(list.data.map(c => [c.name, c.documents, c.settings]));
  if (key === state.key) return;
  state.key = key;
  state.collections = list.data;
  renderList();
  if (!state.selected && list.data.length) select(list.data[0].name);
  else if (state.selected && list.data.some(c => c.name === state.selected)) showDetail(state.selected).catch(reportError);
}

ingestForm($("ingest-form"), {
  onDone: async job => {
    if (job.status === "succeeded") toast(`Ingested into ${job.config.collection}`, "ok");
    else toast(`Ingest ${job.status}: ${job.error || ""}`, "error");
    state.key = "";
    await refresh();
    if (job.status === "succeeded") select(job.config.collection);
  },
});

$("search-form").addEventListener("submit", ev => {
  ev.preventDefault();
  const f = ev.target.elements;
  f.query.removeAttribute("aria-invalid");
  const query = f.query.value.trim(), k = Number(f.k.value);
  if (!f.collection.value) return formError(ev.target, "Ingest a collection first.");
  if (!query) { f.query.setAttribute("aria-invalid", "true"); return formError(ev.target, "Type what to look for."); }
  if (!Number.isInteger(k) || k < 1 || k > 100) return formError(ev.target, "k is a whole number from 1 to 100.");
  formError(ev.target, "");
  searchAll($("results"), f.collection.value, query, k).catch(reportError);
});

poll(refresh, 5000);
