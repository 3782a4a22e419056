// Shared by the Adapters, Evals and Collections pages: field messages next to form fields (set in
// the browser before submitting, or from the server's `param`), and following a job until it ends.
import { api, el } from "/static/js/app.js";

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const NAME_RULE = "1-128 letters, digits, '.', '_' or '-', starting with a letter or digit";
export const DONE = new Set(["succeeded", "failed", "cancelled"]);

// The message box of a field: a .field-error right after it, made on first use.
function messageBox(input) {
  const id = (input.id || input.name) + "-error";
  let box = document.getElementById(id);
  if (!box) {
    box = el("span", { class: "field-error", id, role: "alert" });
    (input.closest("label, fieldset") || input.parentElement).append(box);
    input.setAttribute("aria-describedby", id);
  }
  return box;
}

export function setFieldError(input, message) {
  input.setAttribute("aria-invalid", "true");
  messageBox(input).textContent = message;
}

export function clearFieldErrors(form) {
  form.querySelectorAll("[aria-invalid]").forEach(i => i.removeAttribute("aria-invalid"));
  form.querySelectorAll(".field-error").forEach(b => { b.textContent = ""; });
  const box = form.querySelector(".form-error");
  if (box) box.textContent = "";
}

// `errors` maps a field's name to its message; the first bad field gets the focus. True when none.
export function showFieldErrors(form, errors) {
  const names = Object.keys(errors);
  for (const name of names) {
    const input = form.elements.namedItem(name);
    const target = input instanceof RadioNodeList ? input[0] : input;
    if (target) setFieldError(target, errors[name]);
    else formError(form, errors[name]);
  }
  if (names.length) {
    const first = form.elements.namedItem(names[0]);
    (first instanceof RadioNodeList ? first[0] : first)?.focus?.();
  }
  return names.length === 0;
}

export function formError(form, message) {
  let box = form.querySelector(".form-error");
  if (!box) { box = el("p", { class: "form-error error", role: "alert" }); form.append(box); }
  box.textContent = message;
}

// A server error: next to the field it names (the job config's `param`: "gate", "eval.models",
// "adapters"...) when the form has it, else under the form.
export function showServerError(form, err, fieldFor = p => p) {
  const param = err?.body?.error?.param;
  const name = param ? fieldFor(String(param).split(".").pop(), String(param)) : null;
  const input = name ? form.elements.namedItem(name) : null;
  if (input) { setFieldError(input instanceof RadioNodeList ? input[0] : input, err.message); return; }
  formError(form, err?.message || String(err));
}

// Poll a job until it ends; `onUpdate(job)` on every change of status. Resolves with the last job.
// A lost connection is ridden out (the next poll catches up).
export async function followJob(id, onUpdate, ms = 1000) {
  let last = "";
  for (;;) {
    let job = null;
    try { job = await api(`/v1/jobs/${encodeURIComponent(id)}`); } catch (err) { if (err.status) throw err; }
    if (job) {
      const seen = job.status + JSON.stringify(job.result || {});
      if (seen !== last) { last = seen; onUpdate?.(job); }
      if (DONE.has(job.status)) return job;
    }
    await new Promise(r => setTimeout(r, ms));
  }
}

export function jobLink(job) {
  return el("a", { href: "/jobs/" + job.id }, job.kind + " " + job.id.slice(0, 8));
}

// "…/evals/run-1/report" -> "report"; keeps the tail of long names readable in narrow cells.
export function shortPath(path, keep = 2) {
  const parts = String(path || "").split("/").filter(Boolean);
  return parts.length > keep ? "…/" + parts.slice(-keep).join("/") : String(path || "");
}
