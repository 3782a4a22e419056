// The "Start an evaluation" form: the task, a baseline and the models compared with it (the base
// model, adapters, upstream models from GET /v1/models), or a collection and search modes for
// retrieval; examples, a data file, gates. Checked here with the eval config's rules, then
// POST /v1/jobs kind eval; the server's message goes next to the field it names.
import { api, clear, el } from "/static/js/app.js";
import { clearFieldErrors, showFieldErrors, showServerError } from "/static/js/registry-common.js";

const HELP = {
  classify: "Google Product Taxonomy category of each product; accuracy, macro F1, top-k.",
  extract: "Attributes of each product as JSON; field-level F1 and exact match.",
  qa: "Answers to product questions from review snippets; F1, exact match.",
  retrieval: "Search a collection with each mode; recall@k, MRR, nDCG.",
};
const GATE = /^(.+?)\s*(>=|<=|==|!=|>|<)\s*(.+)$/;

export function evalForm(form, { onQueued }) {
  const f = form.elements;
  const candidates = form.querySelector("#candidates");
  const showTask = () => {
    const retrieval = f.task.value === "retrieval";
    form.querySelector("#model-fields").hidden = retrieval;
    form.querySelector("#retrieval-fields").hidden = !retrieval;
    clear(form.querySelector("#task-help"), HELP[f.task.value]);
  };
  f.task.addEventListener("change", showTask);
  const syncBaseline = () => candidates.querySelectorAll("input").forEach(i => {
    i.disabled = i.value === f.baseline.value;
    if (i.disabled) i.checked = false;
  });
  f.baseline.addEventListener("change", syncBaseline);
  showTask();

  // Offer what the server can run; keep the user's picks. `wanted`: models asked for in the URL.
  function setModels(models, collections, wanted = []) {
    const ids = models.map(m => m.id);
    const before = f.baseline.value || wanted[0] || ids[0];
    const picked = new Set([...candidates.querySelectorAll("input:checked")].map(i => i.value));
    wanted.slice(1).forEach(w => picked.add(w));
    clear(f.baseline, models.map(m => el("option", { value: m.id }, `${m.id} (${m.tunelab_kind})`)));
    if (ids.includes(before)) f.baseline.value = before;
    clear(candidates, models.map(m => el("label", { class: "check chip" },
      el("input", { type: "checkbox", value: m.id, checked: picked.has(m.id) }), m.id)));
    syncBaseline();
    const col = f.collection.value;
    clear(f.collection, el("option", { value: "" }, "the sample catalogue (ingested on first use)"),
      collections.map(c => el("option", { value: c.name }, c.name)));
    f.collection.value = collections.some(c => c.name === col) ? col : "";
  }

  function read() {
    const errors = {};
    const task = f.task.value;
    const config = { task, split: f.split.value };
    if (task === "retrieval") {
      const modes = [...form.querySelectorAll('input[name="modes"]:checked')].map(i => i.value);
      if (!modes.length) errors.modes = "Pick at least one search mode.";
      config.modes = modes;
      if (f.collection.value) config.collection = f.collection.value;
    } else {
      if (!f.baseline.value) errors.baseline = "Pick the baseline model.";
      const others = [...candidates.querySelectorAll("input:checked")].map(i => i.value);
      config.models = [f.baseline.value, ...others].filter(Boolean);
    }
    const limit = f.limit.value.trim();
    if (limit) {
      if (!/^\d+$/.test(limit) || Number(limit) < 1) errors.limit = "A whole number of examples, 1 or more (or blank for all).";
      else config.limit = Number(limit);
    }
    const data = f.data.value.trim();
    if (data) {
      if (!data.startsWith("/") && !data.startsWith("~")) errors.data = "Give an absolute path on the server.";
      config.data = data;
    }
    const gates = f.gate.value.split("\n").map(g => g.trim()).filter(Boolean);
    const bad = gates.findIndex(g => !GATE.test(g) || !GATE.exec(g)[3].trim());
    if (bad >= 0) errors.gate = `Line ${bad + 1}: a gate compares a metric with a value, e.g. 'accuracy >= baseline + 0.02'.`;
    if (gates.length) config.gate = gates;
    return { errors, config };
  }

  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    clearFieldErrors(form);
    const { errors, config } = read();
    if (!showFieldErrors(form, errors)) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const job = await api("/v1/jobs", { method: "POST", body: { kind: "eval", config: { eval: config } } });
      onQueued(job);
    } catch (err) {
      showServerError(form, err, p => (p === "models" ? "baseline" : p));
    } finally { button.disabled = false; }
  });
  return { setModels };
}
