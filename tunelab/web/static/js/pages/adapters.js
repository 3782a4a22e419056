// Adapters: the registry with its lineage graph (GET /v1/lineage), the selected adapter's metrics,
// config and data hashes (GET /v1/adapters/{name}), load/unload into this server (POST
// /v1/adapters/load|unload; GET /v1/adapters says what is loaded), merge and export as jobs.
import { api, badge, clear, el, fmtNum, fmtTime, poll, reportError, table, toast } from "/static/js/app.js";
import { drawGraph } from "/static/js/registry-graph.js";
import { exportForm } from "/static/js/registry-export.js";
import { mergeForm } from "/static/js/registry-merge.js";
import { followJob, jobLink, shortPath } from "/static/js/registry-common.js";

const $ = id => document.getElementById(id);
const state = { graph: { nodes: [], edges: [] }, loaded: [], available: [], selected: null, key: "", detail: null };

const adapters = () => state.graph.nodes.filter(n => n.type === "adapter");
const parentsOf = name => state.graph.edges.filter(e => e.target === name).map(e => e.source)
  .filter(s => state.graph.nodes.find(n => n.id === s)?.type !== "base");

function madeBy(n) { return el("span", { class: `kind-chip ${n.made_by}` }, n.made_by === "registered" ? "added" : n.made_by); }

function loadButton(name) {
  if (!state.available.includes(name)) {
    return el("span", { class: "muted small", title: "Not a LoRA adapter of this server's base model" }, "not servable here");
  }
  const loaded = state.loaded.includes(name);
  return el("button", { class: "small" + (loaded ? "" : " primary"), type: "button", "data-action": loaded ? "unload" : "load",
    "data-name": name, onclick: ev => setLoaded(name, !loaded, ev.currentTarget) }, loaded ? "Unload" : "Load");
}

async function setLoaded(name, load, button) {
  button.disabled = true;
  try {
    const r = await api(`/v1/adapters/${load ? "load" : "unload"}`, { method: "POST", body: { name } });
    state.loaded = r.loaded;
    toast(load ? `Loaded ${name} into the server` : `Unloaded ${name}`, "ok", 2500);
  } catch (err) { reportError(err); }
  await refresh(true);
}

function select(name) {
  if (!name || state.selected === name) return;
  state.selected = name;
  if (location.hash.slice(1) !== encodeURIComponent(name)) history.replaceState(null, "", "#" + encodeURIComponent(name));
  refresh(true);
  showDetail(name).catch(reportError);
}

function renderRegistry() {
  const rows = adapters().slice().reverse();
  clear($("registry-count"), rows.length ? `${rows.length} adapter${rows.length > 1 ? "s" : ""}` : "");
  clear($("registry"), table([
    { label: "adapter", value: n => el("a", { href: "#" + encodeURIComponent(n.id), class: "adapter-link",
      onclick: ev => { ev.preventDefault(); select(n.id); } }, n.id) },
    { label: "made by", value: n => madeBy(n) },
    { label: "from", value: n => parentsOf(n.id).join(" + ") || n.base_model },
    { label: "created", value: n => fmtTime(n.created_at) },
    { label: "server", value: n => el("span", { class: "row nowrap" },
      state.loaded.includes(n.id) ? badge("loaded") : null, loadButton(n.id)) },
  ], rows, { empty: "No adapters registered yet: train one from Train.",
    rowAttrs: n => ({ class: n.id === state.selected ? "selected" : null, "data-name": n.id }) }));
}

function kv(pairs) {
  return el("dl", { class: "kv" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function hashCell(h) { return h ? el("code", { class: "hash", title: h }, h) : el("span", { class: "muted" }, "–"); }

async function showDetail(name) {
  const a = await api(`/v1/adapters/${encodeURIComponent(name)}`);
  if (state.selected !== name) return;
  state.detail = a;
  renderDetail();
}

function renderDetail() {
  const a = state.detail;
  if (!a) return;
  const node = state.graph.nodes.find(n => n.id === a.name) || { made_by: "registered" };
  const lin = a.lineage || {};
  clear($("detail-title"), a.name, madeBy(node), state.loaded.includes(a.name) ? badge("loaded") : null);
  const run = a.run ? `${a.run.id} · ${a.run.status} · step ${a.run.step}/${a.run.total_steps}` : a.run_id;
  const merge = node.made_by === "merge"
    ? `${lin.method}, weights ${(lin.weights || []).map(w => +(+w).toFixed(4)).join(" / ")}${lin.density != null ? `, density ${lin.density}` : ""}`
    : null;
  const parents = a.parents.length ? el("span", { class: "chips" }, a.parents.map(p =>
    el("a", { class: "chip", href: "#" + encodeURIComponent(p), onclick: ev => { ev.preventDefault(); select(p); } }, p))) : null;
  const datasets = (lin.datasets || []).filter(d => d && typeof d === "object");
  const metrics = Object.entries(a.metrics || {});
  const versions = Object.entries(lin.versions || {}).filter(([, v]) => v);
  clear($("detail"),
    el("div", { class: "row actions" }, loadButton(a.name),
      el("a", { class: "button small", href: "/chat?model=" + encodeURIComponent(a.name) }, "Chat with it"),
      el("a", { class: "button small", href: "/evals?models=" + encodeURIComponent([a.base_model, a.name].join(",")) }, "Evaluate vs base")),
    kv([["kind", a.kind + (lin.config?.method && lin.config.method !== a.kind ? ` (${lin.config.method})` : "")],
      ["recipe", lin.recipe], ["base model", a.base_model],
      ["base hash", a.base_model_hash ? hashCell(a.base_model_hash) : null], ["parents", parents], ["merge", merge],
      ["training run", run], ["seed", lin.seed ?? lin.config?.seed], ["created", fmtTime(a.created_at)],
      ["wall time", a.wall_time_s != null ? `${fmtNum(a.wall_time_s, 1)} s` : null]]),
    el("h3", {}, "Metrics"),
    table([{ label: "metric", value: ([k]) => k }, { label: "value", value: ([, v]) => fmtNum(v, 4), num: true }],
      metrics, { empty: "No metrics recorded." }),
    el("h3", {}, "Data"),
    table([{ label: "dataset", value: d => d.name || shortPath(d.path) }, { label: "role", value: d => d.role || "" },
      { label: "records", value: d => fmtNum(d.records), num: true }, { label: "content hash", value: d => hashCell(d.hash) }],
    datasets, { empty: "No datasets recorded (merged or added from a folder)." }),
    lin.config ? el("details", { class: "config" }, el("summary", {}, "Training config"),
      el("pre", { class: "config-json" }, JSON.stringify(lin.config, null, 2))) : null,
    versions.length ? el("p", { class: "muted small" }, "Made with " + versions.map(([k, v]) => `${k} ${v}`).join(", ")) : null,
    exportForm(a, { onDone: () => refreshJobs().catch(reportError) }));
}

async function refreshJobs() {
  const [merges, exports] = await Promise.all([api("/v1/jobs?kind=merge&limit=6"), api("/v1/jobs?kind=export&limit=6")]);
  const jobs = [...merges.data, ...exports.data].sort((a, b) => (b.created_at > a.created_at ? 1 : -1)).slice(0, 8);
  clear($("adapter-jobs"), table([
    { label: "job", value: j => jobLink(j) },
    { label: "status", value: j => badge(j.status) },
    { label: "what", value: j => j.kind === "merge" ? `${j.config.adapters.join(" + ")} → ${j.config.name}` : j.config.adapter },
    { label: "result", value: j => j.error ? el("span", { class: "error" }, j.error)
      : j.result?.path ? el("code", { title: j.result.path }, shortPath(j.result.path, 3)) : "" },
  ], jobs, { empty: "No merge or export jobs yet." }));
}

async function refresh(force = false) {
  const [graph, served] = await Promise.all([api("/v1/lineage"), api("/v1/adapters")]);
  const key = JSON.stringify([graph, served, state.selected]);
  if (!force && key === state.key) return;
  const loadedChanged = JSON.stringify(served.loaded) !== JSON.stringify(state.loaded);
  state.key = key;
  Object.assign(state, { graph, loaded: served.loaded, available: served.available });
  const count = adapters().length;
  clear($("graph-note"), count ? `${count} adapter${count > 1 ? "s" : ""} · click one for its details` : "");
  drawGraph($("graph"), graph, { selected: state.selected, loaded: state.loaded, onSelect: select });
  renderRegistry();
  merge.update(adapters(), state.graph);
  if (loadedChanged) renderDetail();
  if (!state.selected && count) select(adapters()[count - 1].id);
}

const merge = mergeForm($("merge-form"), $("merge-choices"), {
  taken: () => new Set(adapters().map(n => n.id)),
  onQueued: job => {
    clear($("merge-status"), jobLink(job), " ", badge(job.status));
    refreshJobs().catch(reportError);
    followJob(job.id, j => clear($("merge-status"), jobLink(j), " ", badge(j.status))).then(async j => {
      refreshJobs().catch(reportError);
      if (j.status === "succeeded") {
        toast(`Merged into ${j.result.adapter}`, "ok");
        await refresh(true);
        select(j.result.adapter);
      } else toast(`Merge ${j.status}: ${j.error || ""}`, "error");
    }).catch(reportError);
  },
});

window.addEventListener("hashchange", () => select(decodeURIComponent(location.hash.slice(1))));
const wanted = decodeURIComponent(location.hash.slice(1));
if (wanted) { state.selected = wanted; showDetail(wanted).catch(reportError); }
poll(refresh, 4000);
poll(refreshJobs, 4000);
