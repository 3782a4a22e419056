// Jobs: the queue (running, then waiting in start order; move with ↑ ↓ or by dragging), and every job
// with status and kind filters, paged; cancel, retry and resume where a job's state allows. Live: the
// page asks again every two seconds (and at once after an action).
import { api, badge, clear, el, fmtTime, poll, table } from "/static/js/app.js";
import { actions, move, progress, summary } from "/static/js/jobs-actions.js";

const $ = id => document.getElementById(id);
const PAGE = 25;
const STATUSES = ["all", "queued", "running", "succeeded", "failed", "cancelled"];
const state = { status: "all", kind: "", offset: 0, dragging: null, kinds: new Set() };
const KINDS = ["train", "eval", "ingest", "merge", "export", "quickstart"]; // more are added as they are seen
let runs = new Map();
let busyRuns = new Set(); // runs that a running or waiting job continues

function jobLink(j) { return el("a", { href: "/jobs/" + j.id, class: "mono" }, j.id); }

function statusCell(j) {
  const run = runs.get(j.result?.run_id);
  return el("div", { class: "status-cell" }, badge(j.status),
    j.cancel_requested && j.status === "running" ? el("span", { class: "muted small" }, " cancelling") : null,
    j.status === "running" ? progress(run) : null);
}

const when = iso => new Date(iso.endsWith("Z") || iso.includes("+") ? iso : iso + "Z");

function duration(j) {
  if (!j.started_at) return "";
  const s = Math.max(0, ((j.finished_at ? when(j.finished_at) : new Date()) - when(j.started_at)) / 1000);
  return s < 90 ? `${s.toFixed(0)} s` : s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
}

function queueRow(j, waiting, last) {
  const up = el("button", { class: "small", type: "button", "data-action": "up", "aria-label": `Move ${j.id} up`,
    disabled: j.position === 1 || null, onclick: () => move(j, j.position - 1, refresh) }, "↑");
  const down = el("button", { class: "small", type: "button", "data-action": "down", "aria-label": `Move ${j.id} down`,
    disabled: j.position === last || null, onclick: () => move(j, j.position + 1, refresh) }, "↓");
  return { j, cells: [
    waiting ? el("span", { class: "handle", title: "Drag to reorder", "aria-hidden": "true" }, "⠿") : "",
    waiting ? String(j.position) : "▶",
    jobLink(j), j.kind, el("span", { class: "summary" }, summary(j)), statusCell(j),
    el("div", { class: "row actions" }, waiting ? [up, down] : [], actions(j, runs.get(j.result?.run_id), refresh, { busyRuns })),
  ] };
}

function renderQueue(running, queued) {
  queued.sort((a, b) => a.position - b.position);
  const last = queued.length;
  const rows = [...running.map(j => queueRow(j, false, last)), ...queued.map(j => queueRow(j, true, last))];
  clear($("queue-count"), `${running.length} running · ${queued.length} waiting`);
  if (!rows.length) {
    clear($("queue"), el("p", { class: "empty" }, "Nothing running or waiting. Start a training job from Train."));
    return;
  }
  const labels = ["", "#", "job", "kind", "what", "status", ""];
  const body = el("tbody", {}, rows.map(({ j, cells }) => {
    const waiting = j.status === "queued";
    const tr = el("tr", { "data-job": j.id, "data-position": waiting ? String(j.position) : null,
      draggable: waiting ? "true" : null, class: waiting ? "waiting" : "running-row" },
      cells.map((c, i) => el("td", { class: i === 1 ? "num" : null }, c)));
    if (waiting) dragAndDrop(tr, j);
    return tr;
  }));
  clear($("queue"), el("div", { class: "table-wrap" }, el("table", { class: "queue" },
    el("thead", {}, el("tr", {}, labels.map((l, i) => el("th", { class: i === 1 ? "num" : null }, l)))), body)));
}

function dragAndDrop(tr, job) {
  tr.addEventListener("dragstart", ev => {
    state.dragging = job; tr.classList.add("dragging");
    ev.dataTransfer.effectAllowed = "move"; ev.dataTransfer.setData("text/plain", job.id);
  });
  tr.addEventListener("dragend", () => { state.dragging = null; tr.classList.remove("dragging"); });
  tr.addEventListener("dragover", ev => {
    if (state.dragging && state.dragging.id !== job.id) { ev.preventDefault(); tr.classList.add("drop-target"); }
  });
  tr.addEventListener("dragleave", () => tr.classList.remove("drop-target"));
  tr.addEventListener("drop", ev => {
    ev.preventDefault(); tr.classList.remove("drop-target");
    const dragged = state.dragging; state.dragging = null;
    if (dragged && dragged.id !== job.id) move(dragged, job.position, refresh);
  });
}

function renderHistory(list) {
  clear($("history-count"), `${list.total} job${list.total === 1 ? "" : "s"}`);
  clear($("history"), table([
    { label: "job", value: jobLink },
    { label: "kind", value: j => j.kind },
    { label: "what", value: j => el("span", { class: "summary" }, summary(j)) },
    { label: "status", value: statusCell },
    { label: "tries", value: j => String(j.attempts), num: true },
    { label: "created", value: j => fmtTime(j.created_at) },
    { label: "took", value: duration, num: true },
    { label: "", value: j => actions(j, runs.get(j.result?.run_id), refresh, { busyRuns }) },
  ], list.data, { empty: state.status === "all" && !state.kind ? "No jobs yet." : "No job matches these filters.",
    rowAttrs: j => ({ "data-job": j.id }) }));
  const page = Math.floor(state.offset / PAGE) + 1, pages = Math.max(1, Math.ceil(list.total / PAGE));
  clear($("page-info"), `page ${page} of ${pages}`);
  $("prev").disabled = state.offset === 0;
  $("next").disabled = state.offset + PAGE >= list.total;
}

function renderFilters() {
  clear($("status-filter"), STATUSES.map(s => el("button", { type: "button",
    class: `chip ${state.status === s ? "on" : ""}`, "aria-pressed": String(state.status === s),
    onclick: () => { state.status = s; state.offset = 0; renderFilters(); refresh(); } }, s)));
}

function addKinds(jobs) {
  const select = $("kind-filter");
  for (const j of jobs) {
    if (state.kinds.has(j.kind)) continue;
    state.kinds.add(j.kind);
    select.append(el("option", { value: j.kind }, j.kind));
  }
}

async function refresh() {
  if (state.dragging) return; // a refresh would pull the row from under the pointer
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(state.offset) });
  if (state.status !== "all") q.set("status", state.status);
  if (state.kind) q.set("kind", state.kind);
  const [running, queued, list, runList] = await Promise.all([
    api("/v1/jobs?status=running&limit=100"), api("/v1/jobs?status=queued&limit=500"),
    api("/v1/jobs?" + q), api("/v1/runs?limit=100")]);
  runs = new Map(runList.data.map(r => [r.id, r]));
  busyRuns = new Set([...running.data, ...queued.data].filter(j => j.kind === "train")
    .map(j => j.config.resume || j.result?.run_id).filter(Boolean));
  addKinds([...running.data, ...queued.data, ...list.data]);
  renderQueue(running.data, queued.data);
  renderHistory(list);
}

renderFilters();
addKinds(KINDS.map(kind => ({ kind })));
$("kind-filter").addEventListener("change", ev => { state.kind = ev.target.value; state.offset = 0; refresh(); });
$("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); refresh(); });
$("next").addEventListener("click", () => { state.offset += PAGE; refresh(); });
poll(refresh, 2000);
