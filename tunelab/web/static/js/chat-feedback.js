// Feedback from the playground, and the loop it closes: every rating, edit and vote is a record on
// the server (POST /v1/feedback); the panel lists them, builds a preference dataset from them
// (POST /v1/feedback/build-dataset), trains DPO on top of the adapter that answered
// (POST /v1/feedback/train-dpo: the job trains, then evaluates against its parent with a gate),
// follows that job, and loads an adapter that passed into the server (POST /v1/adapters/load).
import { api, badge, clear, el, fmtNum, fmtTime, reportError, table, toast } from "/static/js/app.js";
import { history } from "/static/js/chat-store.js";

const DONE = new Set(["succeeded", "failed", "cancelled"]);

// The record of one judgement of answer `i` of `turn`: a rating or an edit is about that answer
// alone; a vote (all=true) carries every answer of the turn in display order and the winner's place.
export function recordFor(conv, turn, i, judgement, all, modelInfo) {
  const at = conv.turns.indexOf(turn);
  const messages = [...history(conv, i, at), { role: "user", content: turn.user }]
    .map(m => ({ role: m.role, content: m.content }));
  const asAnswer = a => {
    const info = modelInfo(a.model);
    return info?.tunelab_kind === "adapter" ? { model: info.parent, adapter: a.model, text: a.text }
      : { model: a.model, adapter: null, text: a.text };
  };
  if (!all) return { messages, answers: [asAnswer(turn.answers[i])], answer_index: 0, ...judgement,
                     conversation_id: conv.id };
  const order = turn.order || turn.answers.map((_, j) => j);
  return { messages, answers: order.map(j => asAnswer(turn.answers[j])), answer_index: order.indexOf(i),
           choice: order.indexOf(i), conversation_id: conv.id };
}

function judgementOf(f) {
  const bits = [];
  if (f.rating === 1) bits.push("▲ good");
  if (f.rating === -1) bits.push("▼ bad");
  if (f.edit !== null && f.edit !== undefined) bits.push("edited");
  if (f.choice !== null && f.choice !== undefined) bits.push(`picked ${"ABCD"[f.choice]}`);
  return bits.join(" ");
}

function whoAnswered(f) {
  return f.answers.map(a => a.adapter || a.model).join(" vs ");
}

export class FeedbackPanel {
  constructor(box, { owner, onLoaded }) {
    this.box = box;
    this.onLoaded = onLoaded;
    this.loaded = [];
    this.jobKey = "tunelab.chat.dpo-job." + (owner || "local");
    this.jobId = localStorage.getItem(this.jobKey);
    this.list = el("div", {});
    this.built = el("div", { class: "small", id: "fb-built" });
    this.jobBox = el("div", { class: "small", id: "fb-job" });
    this.gateBox = el("div", { class: "small", id: "fb-gate" });
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:T]/g, "");
    this.nameInput = el("input", { id: "fb-dataset-name", value: `chat-feedback-${stamp}`, "aria-label": "Dataset name" });
    this.onlyAdapter = el("select", { id: "fb-only", "aria-label": "Only answers of" }, el("option", { value: "" }, "every model"));
    this.dataset = el("select", { id: "fb-dataset", "aria-label": "Preference dataset" });
    this.parent = el("select", { id: "fb-parent", "aria-label": "Adapter to improve" });
    this.newName = el("input", { id: "fb-new-name", value: `dpo-${stamp}`, "aria-label": "New adapter name" });
    this.steps = el("input", { id: "fb-steps", type: "number", min: 1, value: 10, "aria-label": "Steps" });
    this.stepsError = el("span", { class: "field-error" });
    clear(box,
      el("h2", {}, "Feedback", el("span", { class: "muted small", id: "fb-count" }, ""),
        el("a", { class: "more", href: "/v1/feedback/export", download: "feedback.jsonl" }, "export JSONL")),
      el("p", { class: "muted small" }, "Each rating (▲ good, ▼ bad), edit and pick above is stored as feedback. Edits and picks make "
        + "preference pairs (the better answer = chosen, the other = rejected): build a dataset from them, train DPO on "
        + "the adapter that answered, and load the new adapter once it passes its gate against its parent."),
      this.list,
      el("div", { class: "steps" },
        el("div", { class: "step form" }, el("h3", {}, el("span", { class: "n" }, "1"), "Preference dataset"),
          el("label", {}, "Name", this.nameInput),
          el("label", {}, "Only answers of", this.onlyAdapter),
          el("button", { type: "button", class: "primary", id: "fb-build", onclick: () => this.build().catch(reportError) },
            "Build preference dataset"),
          this.built),
        el("div", { class: "step form" }, el("h3", {}, el("span", { class: "n" }, "2"), "Train DPO"),
          el("label", {}, "Dataset", this.dataset),
          el("label", {}, "On top of", this.parent),
          el("label", {}, "New adapter", this.newName),
          el("label", {}, "Steps", this.steps, this.stepsError),
          el("button", { type: "button", class: "primary", id: "fb-train", onclick: () => this.train().catch(reportError) },
            "Train DPO"),
          this.jobBox),
        el("div", { class: "step" }, el("h3", {}, el("span", { class: "n" }, "3"), "Gate and load"), this.gateBox)));
  }

  async post(record) {
    const saved = await api("/v1/feedback", { method: "POST", body: record });
    toast("Feedback saved.", "ok", 2000);
    this.refresh().catch(reportError);
    return saved;
  }

  async start() {
    this.refresh().catch(reportError);
    this.showGate(null);
    if (!this.jobId) {  // another browser, or cleared storage: the newest DPO job with a gate, from the server
      const jobs = await api("/v1/jobs?kind=train&limit=50");
      this.jobId = jobs.data.find(j => j.config?.eval_after && j.config?.recipe?.recipe === "dpo")?.id || null;
    }
    if (this.jobId) this.follow(this.jobId);
  }

  async refresh() {
    const [fb, datasets, adapters] = await Promise.all([
      api("/v1/feedback?limit=10"), api("/v1/datasets"), api("/v1/adapters")]);
    this.items = fb.data;
    this.loaded = adapters.loaded || [];
    clear(document.getElementById("fb-count"), fb.total ? `${fb.total} record${fb.total === 1 ? "" : "s"}` : "");
    clear(this.list, table([
      { label: "when", value: f => fmtTime(f.created_at) },
      { label: "prompt", value: f => el("span", { class: "clip", title: f.messages.at(-1)?.content || "" }, f.messages.at(-1)?.content || "") },
      { label: "answered by", value: f => whoAnswered(f) },
      { label: "feedback", value: f => judgementOf(f) },
      { label: "", value: f => el("button", { type: "button", class: "small ghost", title: "Delete this record",
          "aria-label": "Delete feedback", onclick: () => this.remove(f.id).catch(reportError) }, "×") },
    ], fb.data, { empty: "No feedback yet: rate, edit or pick an answer above." }));
    const answered = [...new Set(fb.data.flatMap(f => f.answers.map(a => a.adapter).filter(Boolean)))];
    fill(this.onlyAdapter, [["", "every model"], ...answered.map(a => [a, a])]);
    const prefs = datasets.data.filter(d => d.format === "preference");
    fill(this.dataset, prefs.length ? prefs.map(d => [d.name, `${d.name} (${d.num_records} pairs)`]) : [["", "none yet: build one first"]]);
    const names = adapters.available || [];
    fill(this.parent, [...names.map(n => [n, n]), ["", "the base model"]], this.parent.value || answered[0] || names[0] || "");
  }

  async remove(id) {
    await api(`/v1/feedback/${encodeURIComponent(id)}`, { method: "DELETE" });
    await this.refresh();
  }

  async build() {
    const name = this.nameInput.value.trim();
    if (!name) { toast("Name the dataset.", "error"); this.nameInput.focus(); return; }
    const body = { name };
    if (this.onlyAdapter.value) body.adapter = this.onlyAdapter.value;
    const res = await api("/v1/feedback/build-dataset", { method: "POST", body });
    const c = res.counts;
    const skipped = Object.entries(c.skipped).map(([why, n]) => `${n} ${why.replace(/_/g, " ")}`).join(", ");
    clear(this.built, el("div", { class: "ok" }, `Registered ${res.dataset.name}: ${c.pairs} pair${c.pairs === 1 ? "" : "s"}`
      + ` (${c.from_edits} from edits, ${c.from_choices} from picks)`),
      skipped ? el("div", { class: "muted" }, `skipped: ${skipped}`) : null,
      el("a", { href: "/datasets#" + encodeURIComponent(res.dataset.name) }, "see it in Datasets →"));
    await this.refresh();
    this.dataset.value = res.dataset.name;
    if (body.adapter) this.parent.value = body.adapter;
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, "");
    this.nameInput.value = `chat-feedback-${stamp}`;
  }

  async train() {
    const steps = Number(this.steps.value);
    this.stepsError.textContent = Number.isInteger(steps) && steps >= 1 ? "" : "Steps: a whole number, at least 1.";
    this.steps.setAttribute("aria-invalid", this.stepsError.textContent ? "true" : "false");
    if (this.stepsError.textContent) return;
    if (!this.dataset.value) { toast("Build a preference dataset first (step 1).", "error"); return; }
    const body = { dataset: this.dataset.value, name: this.newName.value.trim(), max_steps: steps,
                   adapter: this.parent.value || null };
    const job = await api("/v1/feedback/train-dpo", { method: "POST", body });
    toast(`DPO job ${job.id.slice(0, 12)}… queued: it trains, then evaluates against its parent.`, "ok");
    this.jobId = job.id;
    localStorage.setItem(this.jobKey, job.id);
    this.follow(job.id);
  }

  follow(id) {
    clearTimeout(this.timer);
    const tick = async () => {
      let job;
      try {
        job = await api(`/v1/jobs/${encodeURIComponent(id)}`);
      } catch (err) {
        if (err.status === 404) { localStorage.removeItem(this.jobKey); clear(this.jobBox); return; }
        this.timer = setTimeout(tick, 4000);  // the server is away: try again
        return;
      }
      let run = null;
      // the run's id is in the job before its row exists: look for it in the list, not by id (a 404)
      if (job.result?.run_id) run = (await api("/v1/runs?limit=50")).data.find(r => r.id === job.result.run_id) || null;
      this.showJob(job, run);
      this.showGate(job);
      if (!DONE.has(job.status)) this.timer = setTimeout(tick, 1500);
    };
    tick();
  }

  showJob(job, run) {
    const pct = run && run.total_steps ? Math.round(100 * run.step / run.total_steps) : (job.status === "succeeded" ? 100 : 0);
    const phase = job.status === "running" && job.result?.adapter && !("gates_passed" in job.result) ? "evaluating against its parent"
      : job.status === "running" ? "training" : job.status;
    clear(this.jobBox,
      el("div", { class: "row" }, el("a", { href: "/jobs/" + job.id, title: job.id }, `${job.id.slice(0, 12)}… →`), badge(job.status),
        el("span", { class: "muted" }, phase !== job.status ? phase : "")),
      el("div", { class: "progress", title: `${pct}%` }, el("span", { style: `width: ${pct}%` })),
      run ? el("div", { class: "muted" }, `step ${run.step} of ${run.total_steps}`
        + (run.status ? ` · run ${run.status}` : "")) : null,
      job.error ? el("div", { class: "error" }, job.error) : null);
  }

  showGate(job) {
    if (!job || !("gates_passed" in (job.result || {}))) {
      clear(this.gateBox, el("p", { class: "empty" }, job && !DONE.has(job.status)
        ? "The gate result shows when the job's evaluation ends."
        : "After training, the new adapter is evaluated against its parent on held-out pairs; one that passes can be loaded here."));
      return;
    }
    const r = job.result;
    const passed = r.gates_passed;
    const metrics = Object.entries(r.eval_metrics || {}).map(([model, m]) =>
      el("div", {}, el("strong", {}, model), ": ", Object.entries(m).filter(([, v]) => typeof v === "number")
        .map(([k, v]) => `${k} ${fmtNum(v)}`).join(", ")));
    const loaded = this.loaded.includes(r.adapter);
    const load = el("button", { type: "button", class: "primary", id: "fb-load", disabled: !passed || loaded,
      title: passed ? "Load it into the running server" : "It did not pass its gate",
      onclick: () => this.load(r.adapter, load).catch(reportError) }, loaded ? `${r.adapter} loaded ✓` : `Load ${r.adapter} into server`);
    clear(this.gateBox,
      el("div", { class: "row" }, badge(passed ? "pass" : "fail"), el("strong", {}, r.adapter),
        el("span", { class: "muted" }, `vs ${r.eval_baseline}`)),
      (r.gates || []).map(g => el("div", { class: g.passed ? "ok" : "error" }, `${g.passed ? "✓" : "✗"} ${g.gate}`,
        g.detail ? el("span", { class: "muted" }, ` (${g.detail})`) : null)),
      metrics,
      r.eval_run_id ? el("a", { href: "/evals#" + r.eval_run_id }, "the evaluation →") : null,
      el("div", {}, load));
  }

  async load(name, button) {
    const res = await api("/v1/adapters/load", { method: "POST", body: { name } });
    toast(`${name} is loaded (${res.loaded.length} adapter${res.loaded.length === 1 ? "" : "s"} on the server). Pick it in the models row to chat with it.`, "ok");
    this.loaded = res.loaded;
    button.disabled = true;
    button.textContent = `${name} loaded ✓`;
    this.onLoaded?.(name);
  }
}

function fill(select, options, value = select.value) {
  const now = JSON.stringify(options);
  if (select.dataset.options !== now) {
    select.dataset.options = now;
    clear(select, options.map(([v, label]) => el("option", { value: v }, label)));
  }
  if (options.some(([v]) => v === value)) select.value = value;
}
