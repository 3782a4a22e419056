// Settings: API keys (create, revoke; the secret shown once) and upstreams (add, remove). Admin only.
import { api, badge, clear, el, fmtTime, reportError, table, toast } from "/static/js/app.js";

const $ = id => document.getElementById(id);

function forbidden(node, err) {
  if (err.status !== 403) throw err;
  clear(node, el("p", { class: "empty" }, err.message));
}

async function loadKeys() {
  try {
    const keys = await api("/v1/keys");
    clear($("keys"), table([
      { label: "name", value: k => k.name },
      { label: "key", value: k => el("code", {}, k.prefix + "…") },
      { label: "role", value: k => k.admin ? "admin" : "user" },
      { label: "scopes", value: k => k.scopes.join(", ") },
      { label: "limits / min", value: k => limits(k) },
      { label: "status", value: k => badge(k.active ? "active" : "revoked") },
      { label: "created", value: k => fmtTime(k.created_at) },
      { label: "last used", value: k => fmtTime(k.last_used_at) || "never" },
      { label: "", value: k => k.active ? el("button", { class: "small danger", type: "button",
          onclick: () => revoke(k.name) }, "Revoke") : "" },
    ], keys.data, { empty: "No keys: the server is open." }));
  } catch (err) { forbidden($("keys"), err); }
}

// A key's own requests and tokens a minute; "default" is the server's (TUNELAB_RATE_LIMIT_RPM / _TPM).
function limits(k) {
  const one = (v, unit) => v === null ? `default ${unit}` : v === 0 ? `no ${unit} limit` : `${v} ${unit}`;
  return `${one(k.rpm, "req")}, ${one(k.tpm, "tok")}`;
}

async function revoke(name) {
  if (!confirm(`Revoke the key '${name}'? Programs and browsers using it stop working at once.`)) return;
  try { await api(`/v1/keys/${encodeURIComponent(name)}/revoke`, { method: "POST" }); toast(`Key '${name}' revoked.`, "ok"); }
  catch (err) { reportError(err); }
  loadKeys();
}

// The browser checks a form against its own rules first; the field's message shows beside it.
function invalid(form, errorNode) {
  for (const input of form.querySelectorAll("input, select")) {
    input.setAttribute("aria-invalid", String(!input.checkValidity()));
    if (!input.checkValidity()) {
      const label = input.closest("label")?.firstChild?.textContent?.trim() || input.name;
      errorNode.textContent = `${label}: ${input.validationMessage}`;
      input.focus();
      return true;
    }
  }
  errorNode.textContent = "";
  return false;
}

$("key-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const form = ev.target;
  if (invalid(form, $("key-error"))) return;
  try {
    const hadKeys = (await api("/v1/keys")).data.some(k => k.active);
    const scopes = ["admin", "train", "infer"].filter(s => form[s].checked);
    const key = await api("/v1/keys", { method: "POST", body: { name: form.name.value, admin: form.admin.checked,
                                                                scopes: scopes.length ? scopes : null } });
    $("secret").hidden = false;
    $("secret-value").textContent = key.secret;
    $("secret-next").textContent = hadKeys ? "" :
      "This was the first key: from now on the API and this dashboard ask for a key. Sign in with it on your next page.";
    form.reset();
    if (hadKeys) loadKeys();
  } catch (err) { $("key-error").textContent = err.message; }
});

$("copy-secret").addEventListener("click", async () => {
  try { await navigator.clipboard.writeText($("secret-value").textContent); toast("Copied.", "ok", 1500); }
  catch { toast("Select the key and copy it by hand.", "info"); }
});

async function loadUpstreams() {
  try {
    const ups = await api("/v1/upstreams");
    clear($("upstreams"), table([
      { label: "name", value: u => u.name },
      { label: "base URL", value: u => el("code", {}, u.base_url) },
      { label: "kind", value: u => u.kind },
      { label: "models", value: u => u.models.join(", ") || "(asks the upstream)" },
      { label: "key", value: u => u.api_key || "none" },
      { label: "", value: u => el("button", { class: "small danger", type: "button", onclick: () => removeUpstream(u.name) }, "Remove") },
    ], ups.data, { empty: "No upstreams." }));
  } catch (err) { forbidden($("upstreams"), err); }
}

async function removeUpstream(name) {
  if (!confirm(`Remove the upstream '${name}'?`)) return;
  try { await api(`/v1/upstreams/${encodeURIComponent(name)}`, { method: "DELETE" }); } catch (err) { reportError(err); }
  loadUpstreams();
}

$("upstream-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const form = ev.target;
  if (invalid(form, $("upstream-error"))) return;
  const models = form.models.value.split(",").map(s => s.trim()).filter(Boolean);
  try {
    await api("/v1/upstreams", { method: "POST", body: { name: form.name.value, base_url: form.base_url.value,
      kind: form.kind.value, api_key: form.api_key.value || null, models } });
    toast(`Upstream '${form.name.value}' added.`, "ok");
    form.reset();
    loadUpstreams();
  } catch (err) { $("upstream-error").textContent = err.message; }
});

loadKeys();
loadUpstreams();
