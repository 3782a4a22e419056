// One job: its state and actions, the live log and, for training, live charts of its run's metrics.
// The charts start from the run's stored series (GET /v1/runs/{id}) and grow with the job's metric
// events; the log and status come from the event stream (GET /v1/jobs/{id}/events), replayed from the
// start on each load and resumed by the browser with Last-Event-ID after a lost connection, so a
// refresh or a server restart loses nothing.
import { api, badge, clear, el, fmtNum, fmtTime, follow, reportError } from "/static/js/app.js";
import { MetricCharts } from "/static/js/jobs-charts.js";
import { DONE, actions, progress, summary } from "/static/js/jobs-actions.js";

const $ = id => document.getElementById(id);
const jobId = $("job").dataset.jobId;
const MAX_CHUNKS = 5000; // batches of lines kept in the page (a long log drops its oldest)
const state = { job: null, run: null, runId: null, source: null, lastId: 0, sinceOpen: 0, lines: 0,
  refreshing: null, configShown: false, traceback: null, gone: false, runSeen: false };
const charts = new MetricCharts($("charts"), {
  log: localStorage.getItem("tunelab.charts.log") === "1", onChange: noteCharts });
$("log-scale").checked = charts.log;

function noteCharts() {
  const n = charts.count("train_loss");
  clear($("charts-note"), n ? `${n} step${n === 1 ? "" : "s"} of train loss` : "");
}

// -- the job's card ---------------------------------------------------------------------------------

function fact(label, value) {
  return value === null || value === undefined || value === "" ? null : [el("dt", {}, label), el("dd", {}, value)];
}

function renderJob() {
  const j = state.job, run = state.run;
  clear($("job-status"), badge(j.status));
  clear($("job-kind"), j.kind);
  clear($("job-summary"), summary(j));
  clear($("job-actions"), actions(j, run, () => refreshJob(true), { small: false }));
  clear($("job-progress"), j.kind === "train" ? progress(run) : null, rate());
  const adapter = j.result?.adapter;
  clear($("job-facts"), [
    fact("place in queue", j.position), fact("attempts", String(j.attempts)), fact("worker", j.worker),
    fact("submitted by", j.owner || "local"), fact("created", fmtTime(j.created_at)),
    fact("started", fmtTime(j.started_at)), fact("finished", fmtTime(j.finished_at)),
    fact("run", state.runId ? el("span", { class: "mono" }, state.runId) : null),
    fact("run status", run ? run.status : null),
    fact("adapter", adapter && j.status === "succeeded" ? el("a", { href: "/adapters#" + adapter }, adapter) : null),
  ].flat().filter(Boolean));
  const box = $("job-error");
  box.hidden = !j.error && !j.cancel_requested;
  clear(box, j.error ? [el("strong", {}, (j.error_type || "Error") + ": "), j.error]
    : j.cancel_requested && !DONE.has(j.status) ? "Cancel requested: a training job saves a checkpoint first." : null);
  clear($("job-result"), Object.keys(j.result || {}).length ? JSON.stringify(j.result, null, 2)
    : DONE.has(j.status) ? "(none)" : "(nothing yet)");
  $("charts-card").hidden = j.kind !== "train";
  if (!state.configShown) showConfig(j);
}

// steps per second and time left, from the run's step and the job's start
function rate() {
  const run = state.run, j = state.job;
  if (!run || j.status !== "running" || !j.started_at || !run.step) return null;
  const started = new Date(j.started_at.endsWith("Z") || j.started_at.includes("+") ? j.started_at : j.started_at + "Z");
  const s = (Date.now() - started) / 1000;
  const perStep = s / run.step, left = (run.total_steps - run.step) * perStep;
  return el("span", { class: "muted small" }, `${fmtNum(1 / perStep, 2)} steps/s · about ${Math.max(0, left).toFixed(0)} s left`);
}

async function showConfig(j) {
  state.configShown = true;
  const pre = $("job-config");
  if (j.kind === "train" && j.config.recipe) {
    try {
      const v = await api("/v1/recipes/validate", { method: "POST", body: { recipe: j.config.recipe } });
      if (v.valid) {
        clear(pre, v.yaml);
        const a = $("config-download");
        a.href = URL.createObjectURL(new Blob([v.yaml], { type: "application/yaml" }));
        a.download = `${j.config.recipe.adapter_name || j.id}.yaml`;
        a.hidden = false;
        return;
      }
    } catch (err) { reportError(err); }
  }
  clear(pre, JSON.stringify(j.config, null, 2));
}

async function refreshJob(now = false) {
  // Status events come in bursts on a replay: ask once for them all.
  if (state.refreshing && !now) return state.refreshing;
  state.refreshing = (async () => {
    await new Promise(r => setTimeout(r, now ? 0 : 250));
    try {
      state.job = await api(`/v1/jobs/${jobId}`);
      if (state.job.result?.run_id) await loadRun(state.job.result.run_id);
      renderJob();
      if (!state.source && !DONE.has(state.job.status)) start();
    } catch (err) {
      if (err.status === 404 && !state.job) gone(err); else reportError(err);
    } finally { state.refreshing = null; }
  })();
  return state.refreshing;
}

// No such job (or not this key's): say so in the page, and stop asking.
function gone(err) {
  stop();
  clear($("job"), el("p", { class: "empty" }, err.message), el("a", { href: "/jobs" }, "All jobs →"));
  for (const id of ["charts-card"]) $(id).hidden = true;
  state.gone = true;
}

// A job knows its run's id before the run's row exists (the model is still loading): until a metric
// event proves the row is there, look for it in the list of runs rather than ask for it and get a 404.
async function loadRun(runId) {
  state.runId = runId;
  if (!state.runSeen) {
    const runs = await api("/v1/runs?limit=500");
    if (!runs.data.some(r => r.id === runId)) return;
    state.runSeen = true;
  }
  state.run = await api(`/v1/runs/${encodeURIComponent(runId)}`);
  charts.setSeries(state.run.metrics);
}

// -- the log -----------------------------------------------------------------------------------------

// A Python traceback in the log is folded under its last line (the error, which the job's card
// also shows): the page never opens on a stack of frames, and one click shows them.
function appendLog(lines) {
  const log = $("log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  let text = "";
  const flush = () => { if (text) { log.append(text); text = ""; } };
  for (const line of lines) {
    const tb = state.traceback;
    if (tb && /^\s/.test(line)) { tb.body.append(line + "\n"); tb.frames += 1; continue; }
    if (tb) { // the first line after the frames: the exception itself
      clear(tb.summary, line, el("span", { class: "muted" }, ` · traceback, ${tb.frames} lines`));
      state.traceback = null;
      continue;
    }
    if (line.startsWith("Traceback (most recent call last):")) {
      flush();
      const summary = el("summary", {}, "Traceback…"), body = el("div", { class: "frames" }, line + "\n");
      log.append(el("details", { class: "traceback" }, summary, body));
      state.traceback = { summary, body, frames: 1 };
      continue;
    }
    text += line + "\n";
  }
  flush();
  state.lines += lines.length;
  while (log.childNodes.length > MAX_CHUNKS) log.firstChild.remove();
  clear($("log-note"), `${state.lines} line${state.lines === 1 ? "" : "s"}`);
  if ($("follow-log").checked && atBottom) log.scrollTop = log.scrollHeight;
}

let pendingLines = [];
function queueLine(line) {
  if (!pendingLines.length) requestAnimationFrame(() => { const l = pendingLines; pendingLines = []; appendLog(l); });
  pendingLines.push(line);
}

// -- the event stream --------------------------------------------------------------------------------

function seen(id) {
  const n = Number(id);
  if (n) state.lastId = Math.max(state.lastId, n);
  state.sinceOpen += 1;
}

function start() {
  state.sinceOpen = 0;
  const source = follow(`/v1/jobs/${jobId}/events?after=${state.lastId}`, {
    log: (d, id) => { seen(id); queueLine(d.line); },
    metric: (d, id) => {
      seen(id);
      if (d.run_id && (d.run_id !== state.runId || !state.runSeen)) {
        state.runId = d.run_id; state.runSeen = true; // a point of it: the run's row exists
        refreshJob();
      }
      if (state.run && d.step > state.run.step) state.run.step = d.step;
      charts.add(d.step, d.metrics);
      if (state.job) clear($("job-progress"), state.job.kind === "train" ? progress(state.run) : null, rate());
    },
    status: (d, id) => { seen(id); refreshJob(); },
  });
  source.addEventListener("open", () => { state.sinceOpen = 0; });
  source.addEventListener("error", async () => {
    if (source.readyState === EventSource.CLOSED) { state.source = null; return; }
    // The server ends the stream after a job's final status; the browser would reconnect for ever.
    // A connection that brought nothing new while the job is done means the page has caught up.
    const quiet = state.sinceOpen === 0;
    try {
      const job = await api(`/v1/jobs/${jobId}`);
      if (DONE.has(job.status) && quiet) { stop(); state.job = job; await refreshJob(true); }
    } catch { /* the server is away: the browser keeps trying, the dot in the top bar says so */ }
  });
  state.source = source;
}

function stop() { state.source?.close(); state.source = null; }

$("log-scale").addEventListener("change", ev => {
  charts.setLog(ev.target.checked);
  localStorage.setItem("tunelab.charts.log", ev.target.checked ? "1" : "0");
});
$("follow-log").addEventListener("change", ev => { if (ev.target.checked) $("log").scrollTop = $("log").scrollHeight; });
window.addEventListener("beforeunload", stop);

(async () => {
  await refreshJob(true);
  if (!state.source && !state.gone) start(); // a finished job too: its log and metrics are in its events
})();
