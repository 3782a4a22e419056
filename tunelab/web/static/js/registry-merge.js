// The merge form of the Adapters page: pick two or more LoRA adapters of one base model (each with
// an optional weight), a method (density for the pruning ones) and a new name; checked in the
// browser with the rules the merge job applies, then submitted as POST /v1/jobs kind merge.
import { api, clear, el } from "/static/js/app.js";
import { NAME_RE, NAME_RULE, clearFieldErrors, showFieldErrors, showServerError } from "/static/js/registry-common.js";

const PRUNING = new Set(["ties", "dare_linear", "dare_ties"]);

export function mergeForm(form, choices, { taken, onQueued }) {
  let lastKey = "";
  const density = form.querySelector("#density-label");
  form.elements.method.addEventListener("change", () => { density.hidden = !PRUNING.has(form.elements.method.value); });

  function update(nodes) {
    const lora = nodes.filter(n => n.kind === "lora");
    const key = JSON.stringify(lora.map(n => [n.id, n.base_model]));
    if (key === lastKey) return;
    lastKey = key;
    const before = Object.fromEntries([...choices.querySelectorAll(".merge-choice")].map(row =>
      [row.dataset.name, { on: row.querySelector("input[type=checkbox]").checked, w: row.querySelector("input[type=number]").value }]));
    clear(choices, lora.length ? lora.map(n => el("div", { class: "merge-choice", "data-name": n.id, "data-base": n.base_model },
      el("label", { class: "check" }, el("input", { type: "checkbox", value: n.id, checked: before[n.id]?.on }), n.id,
        el("span", { class: "muted small" }, ` on ${n.base_model}`)),
      el("input", { type: "number", step: "0.1", "aria-label": `weight of ${n.id}`, placeholder: "weight",
        value: before[n.id]?.w || undefined, class: "weight" }))) : el("p", { class: "empty" }, "No LoRA adapters to merge yet."));
  }

  function read() {
    const picked = [...choices.querySelectorAll(".merge-choice")].filter(r => r.querySelector("input[type=checkbox]").checked);
    const names = picked.map(r => r.dataset.name);
    const weights = picked.map(r => r.querySelector("input[type=number]").value.trim());
    const method = form.elements.method.value;
    const name = form.elements.name.value.trim();
    const errors = {};
    if (names.length < 2) errors.adapters = "Pick at least two adapters to merge.";
    const bases = new Set(picked.map(r => r.dataset.base));
    if (bases.size > 1) errors.adapters = "These adapters stand on different base models; merge adapters of one base.";
    const given = weights.filter(Boolean);
    if (given.length && given.length !== weights.length) errors.adapters = "Give a weight to every picked adapter, or to none (equal weights).";
    if (given.some(w => !Number.isFinite(Number(w)))) errors.adapters = "Weights must be numbers.";
    let dens = null;
    if (PRUNING.has(method)) {
      dens = Number(form.elements.density.value);
      if (form.elements.density.value.trim() === "" || !(dens > 0 && dens <= 1)) errors.density = `${method} needs a density in (0, 1], e.g. 0.5.`;
    }
    if (!name) errors.name = "Name the merged adapter.";
    else if (!NAME_RE.test(name)) errors.name = `The name must be ${NAME_RULE}.`;
    else if (taken().has(name)) errors.name = `An adapter named '${name}' exists already; pick another name.`;
    const config = { adapters: names, name, method };
    if (given.length) config.weights = weights.map(Number);
    if (dens !== null) config.density = dens;
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
      const job = await api("/v1/jobs", { method: "POST", body: { kind: "merge", config } });
      form.elements.name.value = "";
      choices.querySelectorAll("input").forEach(i => { if (i.type === "checkbox") i.checked = false; else i.value = ""; });
      onQueued(job);
    } catch (err) {
      showServerError(form, err, p => (p === "weights" ? "adapters" : p));
    } finally { button.disabled = false; }
  });
  return { update };
}
