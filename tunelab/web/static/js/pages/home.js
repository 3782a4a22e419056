// Home: the base model, loaded adapters, upstreams, the job queue, recent runs and evals, device and memory.
import { api, badge, clear, el, fmtBytes, fmtNum, fmtTime, poll, table } from "/static/js/app.js";

const $ = id => document.getElementById(id);

async function refresh() {
  const [health, system, models, jobs, runs, evals] = await Promise.all([
    api("/health"), api("/v1/system"), api("/v1/models"), api("/v1/jobs?limit=8"),
    api("/v1/runs?limit=6"), api("/v1/evals?limit=6")]);
  clear($("model"), health.model);
  clear($("engine"), `${health.engine} engine · ${health.running} running · ${health.queue_depth} waiting`
    + (health.embeddings ? ` · embeddings: ${health.embeddings}` : ""));
  clear($("device"), `${system.device} · ${system.dtype}` + (system.quantization === "int8" ? " · int8 weights" : ""));
  const mem = system.gpu
    ? `${system.gpu.name}: ${fmtBytes(system.gpu.memory_used)} of ${fmtBytes(system.gpu.memory_total)}`
    : `${system.cpu} (${system.cpu_count} cores${system.amx ? ", AMX: bf16 fast" : ""})`;
  clear($("memory"), el("div", {}, mem),
    el("div", {}, `server ${fmtBytes(system.process_rss)} · free ${fmtBytes(system.memory_available)} of ${fmtBytes(system.memory_total)}`));
  const loaded = health.loaded_adapters || [];
  clear($("loaded"), loaded.length ? loaded.map(a => el("a", { class: "chip", href: "/adapters#" + a }, a))
    : el("span", { class: "empty" }, "none loaded (an adapter loads on first use)"));
  const ups = models.data.filter(m => m.tunelab_kind === "upstream");
  clear($("upstreams"), ups.length ? ups.map(m => el("span", { class: "chip", title: m.parent || "" }, m.id))
    : el("span", { class: "empty" }, "none (Settings → Upstreams)"));
  clear($("jobs"), table([
    { label: "job", value: j => el("a", { href: "/jobs/" + j.id }, j.id.slice(0, 8)) },
    { label: "kind", value: j => j.kind },
    { label: "status", value: j => badge(j.status) },
    { label: "queued", value: j => j.position ?? "" , num: true },
    { label: "created", value: j => fmtTime(j.created_at) },
  ], jobs.data, { empty: "No jobs yet: start one from Train." }));
  clear($("runs"), table([
    { label: "run", value: r => r.adapter_name || r.id.slice(0, 8) },
    { label: "recipe", value: r => r.recipe },
    { label: "status", value: r => badge(r.status) },
    { label: "step", value: r => `${r.step}/${r.total_steps}`, num: true },
  ], runs.data, { empty: "No training runs yet." }));
  clear($("evals"), table([
    { label: "eval", value: e => el("a", { href: "/evals#" + e.id }, e.id.slice(0, 8)) },
    { label: "task", value: e => e.task },
    { label: "models", value: e => e.models.join(" vs ") },
    { label: "headline", value: e => headline(e) },
    { label: "when", value: e => fmtTime(e.created_at) },
  ], evals.data, { empty: "No evaluations yet." }));
}

function headline(e) {
  const first = Object.keys(e.metrics[e.models[0]] || {})[0];
  if (!first) return "";
  return `${first}: ` + e.models.map(m => fmtNum(e.metrics[m]?.[first])).join(" → ");
}

poll(refresh, 5000);
