// Evals: start an evaluation (an eval job), the stored runs (GET /v1/evals), and any number of
// them compared side by side (GET /v1/evals/compare?ids=a,b,c), their gates included. The URL
// keeps the comparison (#compare=a,b) so a reload or a shared link shows the same.
import { api, badge, clear, el, fmtNum, fmtTime, poll, reportError, table, toast } from "/static/js/app.js";
import { renderComparison } from "/static/js/evals-compare.js";
import { evalForm } from "/static/js/evals-form.js";
import { followJob, jobLink } from "/static/js/registry-common.js";

const $ = id => document.getElementById(id);
const state = { runs: [], picked: [], comparing: "", runsKey: "" };

function gateBadge(run) {
  const gates = run.params?.gates || [];
  if (!gates.length) return el("span", { class: "muted" }, "–");
  const failed = gates.filter(g => !g.passed).length;
  return el("span", { title: gates.map(g => `${g.passed ? "pass" : "FAIL"} ${g.model}: ${g.gate}`).join("\n") },
    badge(failed ? "fail" : "pass"), failed ? ` ${failed}/${gates.length}` : "");
}

function headline(e) {
  const first = Object.keys(e.metrics[e.models[0]] || {})[0];
  if (!first) return "";
  return `${first}: ` + e.models.map(m => fmtNum(e.metrics[m]?.[first])).join(" → ");
}

function togglePick(id, on) {
  state.picked = on ? [...state.picked.filter(x => x !== id), id] : state.picked.filter(x => x !== id);
  renderRuns();
}

function renderRuns() {
  const order = id => state.picked.indexOf(id) + 1;
  clear($("runs"), table([
    { label: "", value: r => el("label", { class: "check", title: "compare" },
      el("input", { type: "checkbox", class: "run-pick", value: r.id, checked: order(r.id) > 0,
        "aria-label": `compare ${r.id}`, onchange: ev => togglePick(r.id, ev.target.checked) }),
      order(r.id) ? el("span", { class: "muted small" }, String(order(r.id))) : null) },
    { label: "run", value: r => el("a", { href: "#compare=" + encodeURIComponent(r.id) }, r.id) },
    { label: "task", value: r => `${r.task} · ${r.split}` },
    { label: "models", value: r => r.models.join(" vs ") },
    { label: "headline", value: r => headline(r) },
    { label: "gates", value: r => gateBadge(r) },
    { label: "status", value: r => badge(r.status) },
    { label: "when", value: r => fmtTime(r.created_at) },
  ], state.runs, { empty: "No evaluation runs yet: start one above, or run tunelab eval.",
    rowAttrs: r => ({ "data-id": r.id, class: order(r.id) ? "selected" : null }) }));
  $("compare-btn").disabled = state.picked.length < 1;
  clear($("compare-btn"), state.picked.length > 1 ? `Compare ${state.picked.length}` : "Show");
}

async function refreshRuns() {
  const runs = await api("/v1/evals?limit=100");
  const k = JSON.stringify(runs.data.map(r => [r.id, r.status]));
  if (k === state.runsKey) return;
  state.runsKey = k;
  state.runs = runs.data;
  renderRuns();
}

async function refreshJobs() {
  const jobs = await api("/v1/jobs?kind=eval&limit=6");
  clear($("eval-jobs"), table([
    { label: "job", value: j => jobLink(j) },
    { label: "status", value: j => badge(j.status) },
    { label: "what", value: j => `${j.config.eval.task}: ${(j.config.eval.models || j.config.eval.modes || []).join(" vs ")}` },
    { label: "result", value: j => j.error ? el("span", { class: "error" }, j.error)
      : j.result?.eval_run_id ? el("span", {}, el("a", { href: "#compare=" + j.result.eval_run_id }, "compare"), " ",
        badge(j.result.gates_passed ? "pass" : "fail")) : "" },
  ], jobs.data, { empty: "No eval jobs yet." }));
}

async function compare(ids) {
  const wanted = ids.join(",");
  state.comparing = wanted;
  const c = await api("/v1/evals/compare?ids=" + encodeURIComponent(wanted));
  if (state.comparing !== wanted) return;
  $("comparison").hidden = false;
  renderComparison(c, { head: $("compare-head"), metrics: $("metrics"), charts: $("charts"), gates: $("gates"),
    examples: $("examples"), onlyDiff: $("only-diff"), more: $("more-examples"), note: $("examples-note") });
}

function fromHash() {
  const h = decodeURIComponent(location.hash.slice(1));
  const ids = (h.startsWith("compare=") ? h.slice(8) : h).split(",").map(s => s.trim()).filter(Boolean);
  if (!ids.length) return;
  state.picked = ids;
  renderRuns();
  compare(ids).catch(reportError);
}

$("compare-btn").addEventListener("click", () => {
  const target = "#compare=" + state.picked.map(encodeURIComponent).join(",");
  if (location.hash === target) fromHash(); else location.hash = target;
});
window.addEventListener("hashchange", fromHash);

const form = evalForm($("eval-form"), {
  onQueued: job => {
    const show = j => clear($("eval-status"), jobLink(j), " ", badge(j.status));
    show(job);
    refreshJobs().catch(reportError);
    followJob(job.id, j => { show(j); refreshJobs().catch(reportError); }).then(async j => {
      if (j.status !== "succeeded") { toast(`Eval ${j.status}: ${j.error || ""}`, "error"); return; }
      toast(`Eval run ${j.result.eval_run_id} stored`, "ok");
      await refreshRuns();
      location.hash = "#compare=" + encodeURIComponent(j.result.eval_run_id);
    }).catch(reportError);
  },
});

async function refreshModels() {
  const [models, collections] = await Promise.all([api("/v1/models"), api("/v1/collections")]);
  const wanted = (new URLSearchParams(location.search).get("models") || "").split(",").filter(Boolean);
  form.setModels(models.data.filter(m => ["base", "adapter", "upstream"].includes(m.tunelab_kind)), collections.data, wanted);
}

refreshModels().catch(reportError);
refreshRuns().then(fromHash).catch(reportError);
poll(refreshRuns, 5000);
poll(refreshJobs, 4000);
