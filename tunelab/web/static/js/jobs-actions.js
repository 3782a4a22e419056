// What the queue and a job's page share: a job's one-line summary, its training progress, and the
// actions its state allows (cancel, retry, resume a training run, move in the queue), each a call to
// /v1/jobs that reports the server's own message when it is refused.
import { api, el, reportError, toast } from "/static/js/app.js";

export const DONE = new Set(["succeeded", "failed", "cancelled"]);

export function summary(job) {
  const c = job.config || {};
  if (job.kind === "train") {
    if (c.resume) return `resume run ${c.resume}`;
    const r = c.recipe || {};
    const method = r.recipe === "sft" ? ` ${r.method}` : "";
    return `${r.recipe || "sft"}${method} · ${r.base_model} on ${r.dataset}` + (r.adapter_name ? ` → ${r.adapter_name}` : "");
  }
  if (job.kind === "eval") return `${c.eval?.task || "eval"}: ${(c.eval?.models || []).join(" vs ")}`;
  if (job.kind === "ingest") return `${(c.sources || []).join(", ")} → ${c.collection}`;
  if (job.kind === "merge") return `${(c.adapters || []).join(" + ")} → ${c.name}`;
  if (job.kind === "export") return `${c.adapter} → ${c.out}`;
  if (job.kind === "quickstart") return `quickstart → ${c.adapter}`;
  return "";
}

// A progress bar for a training job whose run is known: step/total.
export function progress(run) {
  if (!run || !run.total_steps) return null;
  const pct = Math.min(100, Math.round(100 * run.step / run.total_steps));
  return el("div", { class: "progress", title: `step ${run.step} of ${run.total_steps}`, role: "progressbar",
    "aria-valuemin": "0", "aria-valuemax": String(run.total_steps), "aria-valuenow": String(run.step) },
    el("span", { style: `width: ${pct}%` }), el("em", {}, `${run.step}/${run.total_steps}`));
}

// A failed or cancelled training job whose run has not completed can be resumed from its checkpoint.
export function resumable(job, run) {
  return job.kind === "train" && (job.status === "failed" || job.status === "cancelled")
    && !!job.result?.run_id && run?.status !== "completed";
}

async function act(label, fn, after) {
  try {
    const out = await fn();
    toast(label, "ok", 2500);
    after?.(out);
  } catch (err) { reportError(err); }
}

export const cancel = (job, after) => act(`Cancel requested for ${job.id}`,
  () => api(`/v1/jobs/${job.id}/cancel`, { method: "POST" }), after);
export const retry = (job, after) => act(`${job.id} is queued again`,
  () => api(`/v1/jobs/${job.id}/retry`, { method: "POST" }), after);
export const move = (job, to, after) => act(`${job.id} moved to place ${to}`,
  () => api(`/v1/jobs/${job.id}/move`, { method: "POST", body: { to } }), after);
export const resume = (job, after) => act(`Resuming run ${job.result.run_id} in a new job`,
  () => api("/v1/jobs", { method: "POST", body: { kind: "train", config: { resume: job.result.run_id } } }), after);

// The buttons a job's state allows; `after(result)` runs once an action went through. `busyRuns`: the
// training runs a waiting or running job already continues (no second Resume for them).
export function actions(job, run, after, { small = true, busyRuns = new Set() } = {}) {
  const cls = small ? "small" : "";
  const out = [];
  if (!DONE.has(job.status)) {
    out.push(el("button", { class: `${cls} danger`, type: "button", disabled: job.cancel_requested || null,
      "data-action": "cancel", onclick: () => cancel(job, after) }, job.cancel_requested ? "Cancelling…" : "Cancel"));
  }
  if (job.status === "failed" || job.status === "cancelled") {
    out.push(el("button", { class: cls, type: "button", "data-action": "retry", title: "Run this job again",
      onclick: () => retry(job, after) }, "Retry"));
  }
  if (resumable(job, run) && !busyRuns.has(job.result.run_id)) {
    out.push(el("button", { class: cls, type: "button", "data-action": "resume",
      title: `A new job continuing run ${job.result.run_id} from its last checkpoint`,
      onclick: () => resume(job, after) }, "Resume"));
  }
  return el("div", { class: "row actions" }, out);
}
