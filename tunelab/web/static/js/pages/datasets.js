// Datasets: upload a file (checked by the server as `tunelab data validate` does; a bad record is
// shown against the file, line and field), the registered datasets, and one dataset's statistics
// (counts, token lengths as a histogram) and records, page by page. The open dataset is in the URL's #.
import { ApiError, api, badge, clear, el, fmtNum, fmtTime, reportError, table, toast } from "/static/js/app.js";
import { drawHistogram, fileError, recordView, resizeHistogram } from "/static/js/datasets-view.js";

const $ = id => document.getElementById(id);
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const PAGE = 10;
const state = { datasets: [], suffixes: [".jsonl", ".json", ".csv", ".tsv", ".parquet"], open: null, offset: 0,
  nameTouched: false, stats: null };

// -- upload -----------------------------------------------------------------------------------------

function fieldError(id, message) {
  clear($(id + "-error"), message || "");
  $(id).setAttribute("aria-invalid", message ? "true" : "false");
}

function suggestedName(filename) {
  return filename.replace(/\.[^.]+$/, "").replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "").slice(0, 128);
}

function checkUpload() {
  const file = $("file").files[0], name = $("name").value.trim();
  let ok = true;
  if (!file) { fieldError("file", "Choose a file."); ok = false; }
  else if (!state.suffixes.some(s => file.name.toLowerCase().endsWith(s))) {
    fieldError("file", `A ${state.suffixes.join(", ")} file, please (this is ${file.name}).`); ok = false;
  } else fieldError("file", "");
  if (!name) { fieldError("name", "Give the dataset a name."); ok = false; }
  else if (!NAME_RE.test(name)) { fieldError("name", "1-128 letters, digits, '.', '_' or '-', starting with a letter or digit."); ok = false; }
  else if (state.datasets.some(d => d.name === name)) { fieldError("name", `A dataset named '${name}' exists already.`); ok = false; }
  else fieldError("name", "");
  return ok;
}

async function upload(ev) {
  ev.preventDefault();
  $("upload-error").hidden = true;
  if (!checkUpload()) return;
  const file = $("file").files[0];
  const form = new FormData();
  form.append("file", file);
  form.append("name", $("name").value.trim());
  if ($("format").value) form.append("format", $("format").value);
  $("upload-button").disabled = true;
  clear($("upload-state"), `checking ${file.name}…`);
  try {
    const d = await api("/v1/datasets", { method: "POST", form });
    toast(`Added ${d.name}: ${d.num_records} records`, "ok");
    $("upload").reset(); state.nameTouched = false;
    await refreshList();
    location.hash = encodeURIComponent(d.name);
  } catch (err) {
    const e = err instanceof ApiError ? err.body?.error : null;
    if (e?.code === "invalid_dataset") await fileError($("upload-error"), file, e);
    else if (e && /already exists|Dataset name/.test(e.message)) fieldError("name", e.message);
    else reportError(err);
  } finally {
    $("upload-button").disabled = false;
    clear($("upload-state"));
  }
}

// -- list -------------------------------------------------------------------------------------------

async function refreshList() {
  state.datasets = (await api("/v1/datasets")).data;
  clear($("count"), `${state.datasets.length}`);
  clear($("list"), table([
    { label: "name", value: d => el("a", { href: "#" + encodeURIComponent(d.name), class: "mono" }, d.name) },
    { label: "format", value: d => badge(d.format) },
    { label: "records", value: d => fmtNum(d.num_records), num: true },
    { label: "from", value: d => el("span", { class: "muted small source" }, d.source) },
    { label: "hash", value: d => el("code", { title: d.content_hash }, d.content_hash.slice(0, 10)) },
    { label: "added", value: d => fmtTime(d.created_at) },
    { label: "", value: d => el("a", { href: "/train?dataset=" + encodeURIComponent(d.name), class: "button small" }, "Train on it") },
  ], state.datasets, { empty: "No datasets yet: upload one above.",
    rowAttrs: d => ({ "data-name": d.name, class: d.name === state.open ? "selected" : null }) }));
}

// -- one dataset ------------------------------------------------------------------------------------

async function openDataset(name) {
  const d = state.datasets.find(x => x.name === name);
  $("detail").hidden = !d;
  if (!d) { state.open = null; return; }
  const first = state.open !== name;
  state.open = name;
  for (const tr of document.querySelectorAll("#list tr[data-name]")) tr.classList.toggle("selected", tr.dataset.name === name);
  if (first) state.offset = 0;
  clear($("detail-title"), d.name);
  clear($("detail-meta"), [`${fmtNum(d.num_records)} records`, `format ${d.format}`,
    d.stats?.source_format ? `uploaded as ${d.stats.source_format}` : null, `from ${d.source}`,
    `hash ${d.content_hash.slice(0, 16)}…`].filter(Boolean).map(t => el("span", { class: "chip" }, t)));
  await Promise.all([loadStats(), loadRecords()]);
  if (first) $("detail").scrollIntoView({ block: "start", behavior: "instant" });
}

async function loadStats() {
  const name = state.open;
  const maxLen = Number($("max-len").value) || null;
  clear($("stats"), el("p", { class: "muted" }, "Counting tokens…"));
  const q = new URLSearchParams({ bins: "20" });
  if (maxLen) q.set("max_seq_len", String(maxLen));
  const s = await api(`/v1/datasets/${encodeURIComponent(name)}/stats?${q}`);
  if (name !== state.open) return;
  state.stats = s;
  clear($("stats-unit"), `in tokens of ${s.tokenizer}`);
  const L = s.lengths;
  clear($("stats"),
    el("div", { class: "chips" }, Object.entries(s.kinds).map(([k, n]) => el("span", { class: "chip" }, `${k}: ${fmtNum(n)}`)),
      s.skipped ? el("span", { class: "chip warn" }, `${s.skipped} invalid left out`) : null),
    Object.keys(s.labels).length ? el("div", { class: "chips labels" }, Object.entries(s.labels).map(([k, n]) =>
      el("span", { class: "chip" }, `${k}: ${fmtNum(n)}`))) : null,
    L ? el("table", { class: "lengths" }, el("thead", {}, el("tr", {}, ["min", "mean", "p50", "p95", "max"].map(h => el("th", { class: "num" }, h)))),
      el("tbody", {}, el("tr", {}, [L.min, L.mean, L.p50, L.p95, L.max].map(v => el("td", { class: "num" }, fmtNum(v, 1)))))) : null);
  clear($("over"), s.over_max_seq_len === null ? "–" : `${fmtNum(s.over_max_seq_len)} of ${fmtNum(s.count)}`);
  drawHistogram($("histogram"), s.histogram);
}

async function loadRecords() {
  const name = state.open;
  const page = await api(`/v1/datasets/${encodeURIComponent(name)}/records?offset=${state.offset}&limit=${PAGE}`);
  if (name !== state.open) return;
  const end = Math.min(page.total, page.offset + page.data.length);
  clear($("records-range"), page.total ? `${page.offset + 1}–${end} of ${fmtNum(page.total)}` : "none");
  clear($("records"), page.data.map((row, i) => recordView(row, page.offset + i)));
  $("rec-prev").disabled = state.offset === 0;
  $("rec-next").disabled = end >= page.total;
}

function fromHash() {
  const name = decodeURIComponent(location.hash.slice(1));
  openDataset(name).catch(reportError);
}

async function init() {
  const formats = await api("/v1/datasets/formats");
  state.suffixes = formats.suffixes;
  $("format").append(...formats.data.map(f => el("option", { value: f.name }, `${f.name} (${f.kind})`)));
  await refreshList();
  fromHash();
}

$("upload").addEventListener("submit", upload);
$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  $("upload-error").hidden = true;
  if (file && (!state.nameTouched || !$("name").value)) $("name").value = suggestedName(file.name);
  checkUpload();
});
$("name").addEventListener("input", () => { state.nameTouched = true; fieldError("name", ""); });
$("rec-prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); loadRecords().catch(reportError); });
$("rec-next").addEventListener("click", () => { state.offset += PAGE; loadRecords().catch(reportError); });
$("max-len").addEventListener("change", () => loadStats().catch(reportError));
window.addEventListener("hashchange", fromHash);
new ResizeObserver(() => resizeHistogram($("histogram"))).observe($("histogram"));
init().catch(reportError);
