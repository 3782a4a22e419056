// The export form of the selected adapter: its PEFT folder, or merged into the base model as a
// plain model folder, written on the server (default <home>/exports/NAME) by an export job.
import { api, badge, clear, el, reportError, toast } from "/static/js/app.js";
import { clearFieldErrors, followJob, jobLink, showFieldErrors, showServerError } from "/static/js/registry-common.js";

export function exportForm(adapter, { onDone }) {
  const status = el("span", { class: "muted small" });
  const form = el("form", { class: "form export-form", novalidate: true },
    el("h3", {}, "Export"),
    el("label", {}, "Folder on the server",
      el("input", { name: "out", autocomplete: "off", placeholder: `default: <home>/exports/${adapter.name}` }),
      el("span", { class: "help" }, "An absolute path; it must not exist or be empty.")),
    adapter.kind === "lora"
      ? el("label", { class: "check" }, el("input", { type: "checkbox", name: "merged" }),
        "Merge into the base model (a plain model folder that loads without PEFT)")
      : null,
    el("div", { class: "row" }, el("button", { type: "submit" }, "Export"), status));
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    clearFieldErrors(form);
    const out = form.elements.out.value.trim();
    if (out && !out.startsWith("/") && !out.startsWith("~")) {
      showFieldErrors(form, { out: "Give an absolute folder path on the server (or leave it blank)." });
      return;
    }
    const config = { adapter: adapter.name, merged: !!form.elements.merged?.checked };
    if (out) config.out = out;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const job = await api("/v1/jobs", { method: "POST", body: { kind: "export", config } });
      onDone();
      const show = j => clear(status, jobLink(j), " ", badge(j.status), j.result?.path ? ` → ${j.result.path}` : "");
      show(job);
      followJob(job.id, show).then(j => {
        onDone();
        if (j.status === "succeeded") toast(`Exported ${adapter.name} to ${j.result.path}`, "ok");
        else toast(`Export ${j.status}: ${j.error || ""}`, "error");
      }).catch(reportError);
    } catch (err) {
      showServerError(form, err);
    } finally { button.disabled = false; }
  });
  return form;
}
