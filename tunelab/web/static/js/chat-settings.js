// The playground's settings form: system prompt, sampling (temperature, top_p, max_tokens, seed), the
// RAG collection and its k, and a JSON schema for structured output. Checked in the browser, each
// field's message next to it, before anything is sent (the server checks again and says why).
const $ = id => document.getElementById(id);

function number(id, { min, max, integer = false, optional = false, label }) {
  const raw = $(id).value.trim();
  if (raw === "") return optional ? { value: null } : { error: `${label} is needed.` };
  const value = Number(raw);
  if (!Number.isFinite(value)) return { error: `${label} must be a number.` };
  if (integer && !Number.isInteger(value)) return { error: `${label} must be a whole number.` };
  if (min !== undefined && value < min) return { error: `${label} must be at least ${min}.` };
  if (max !== undefined && value > max) return { error: `${label} must be at most ${max}.` };
  return { value };
}

function schema() {
  const raw = $("schema").value.trim();
  if (!raw) return { value: null };
  let parsed;
  try { parsed = JSON.parse(raw); } catch (err) { return { error: `Not valid JSON: ${err.message}` }; }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { error: 'A JSON schema is an object, for example {"type": "object", "properties": {...}}.' };
  }
  return { value: parsed };
}

function mark(id, error) {
  const input = $(id);
  input.setAttribute("aria-invalid", error ? "true" : "false");
  const note = document.querySelector(`.field-error[data-for="${id}"]`);
  if (note) note.textContent = error || "";
}

// The settings, or null when a field is wrong (each wrong field then shows its message).
export function readSettings() {
  const fields = {
    temperature: number("temperature", { min: 0, max: 2, label: "Temperature" }),
    top_p: number("top_p", { min: 0, max: 1, label: "top_p" }),
    max_tokens: number("max_tokens", { min: 1, integer: true, label: "Max tokens" }),
    seed: number("seed", { integer: true, optional: true, label: "Seed" }),
    rag_k: number("rag_k", { min: 1, max: 50, integer: true, label: "Sources (k)" }),
    schema: schema(),
  };
  let ok = true;
  for (const [id, f] of Object.entries(fields)) {
    mark(id, f.error);
    if (f.error) ok = false;
  }
  if (!ok) return null;
  const collection = $("collection").value;
  const stored = {
    system: $("system").value, temperature: fields.temperature.value, top_p: fields.top_p.value,
    max_tokens: fields.max_tokens.value, seed: fields.seed.value, schema: $("schema").value,
    collection, k: fields.rag_k.value,
  };
  return { ...stored, schemaObject: fields.schema.value, stored };
}

export function showSettings(s) {
  $("system").value = s.system || "";
  $("temperature").value = s.temperature;
  $("top_p").value = s.top_p;
  $("max_tokens").value = s.max_tokens;
  $("seed").value = s.seed ?? "";
  $("schema").value = s.schema || "";
  $("rag_k").value = s.k;
  const select = $("collection");
  if (s.collection && ![...select.options].some(o => o.value === s.collection)) {
    select.append(new Option(s.collection, s.collection));
  }
  select.value = s.collection || "";
  for (const id of ["temperature", "top_p", "max_tokens", "seed", "rag_k", "schema"]) mark(id, null);
}
