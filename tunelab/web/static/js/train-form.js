// A recipe's form, built from its JSON schema (GET /v1/recipes: the pydantic model's own), so every
// field shows its help text, default and bounds, and is checked in the browser by the schema's rules
// with pydantic's own wording before the server checks the rest (rules across fields).
import { clear, el } from "/static/js/app.js";

const NULL = { type: "null" };
const MULTILINE = new Set(["chat_template"]); // Jinja text: several lines

// The shape of one property: kind (bool | enum | number | integer | string | modules | object),
// nullable, bounds, options, the nested schema of an object.
export function fieldSpec(prop, root) {
  const resolve = s => (s && s.$ref ? root.$defs[s.$ref.split("/").pop()] : s);
  let nullable = false, inner = prop;
  if (prop.anyOf) {
    const rest = prop.anyOf.filter(s => s.type !== NULL.type);
    nullable = rest.length < prop.anyOf.length;
    if (rest.length === 1) inner = rest[0];
    else if (rest.some(s => s.const !== undefined) && rest.some(s => s.type === "array")) {
      return { kind: "modules", nullable, constant: rest.find(s => s.const !== undefined).const };
    } else inner = rest[0];
  }
  inner = resolve(inner);
  const spec = { nullable, min: inner.minimum, max: inner.maximum, xmin: inner.exclusiveMinimum,
    xmax: inner.exclusiveMaximum };
  if (inner.enum) return { ...spec, kind: "enum", options: inner.enum };
  if (inner.const !== undefined) return { ...spec, kind: "enum", options: [inner.const] };
  if (inner.type === "object" && inner.properties) return { ...spec, kind: "object", schema: inner };
  if (inner.type === "boolean") return { ...spec, kind: "bool" };
  if (inner.type === "integer" || inner.type === "number") return { ...spec, kind: inner.type };
  return { ...spec, kind: "string" };
}

function bounds(spec) {
  const lo = spec.min !== undefined ? `${spec.min} ≤ ` : spec.xmin !== undefined ? `${spec.xmin} < ` : "";
  const hi = spec.max !== undefined ? ` ≤ ${spec.max}` : spec.xmax !== undefined ? ` < ${spec.xmax}` : "";
  return lo || hi ? `${lo}x${hi}` : "";
}

function shown(value) {
  if (value === null) return "unset";
  if (typeof value === "boolean") return value ? "on" : "off";
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

// pydantic's messages for the same mistakes, so the browser and the server say the same thing
export function checkValue(spec, raw, required) {
  const text = String(raw ?? "").trim();
  if (text === "") {
    if (spec.nullable) return { value: null };
    return required ? { error: "Field required" } : { omit: true };
  }
  if (spec.kind === "integer" || spec.kind === "number") {
    const n = Number(text);
    if (!Number.isFinite(n) || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)) {
      return { error: spec.kind === "integer" ? "Input should be a valid integer" : "Input should be a valid number" };
    }
    if (spec.kind === "integer" && !Number.isInteger(n)) return { error: "Input should be a valid integer" };
    if (spec.min !== undefined && n < spec.min) return { error: `Input should be greater than or equal to ${spec.min}` };
    if (spec.xmin !== undefined && n <= spec.xmin) return { error: `Input should be greater than ${spec.xmin}` };
    if (spec.max !== undefined && n > spec.max) return { error: `Input should be less than or equal to ${spec.max}` };
    if (spec.xmax !== undefined && n >= spec.xmax) return { error: `Input should be less than ${spec.xmax}` };
    return { value: n };
  }
  if (spec.kind === "modules") {
    if (text === spec.constant) return { value: text };
    const names = text.split(/[\s,]+/).filter(Boolean);
    return names.length ? { value: names } : { error: `Give '${spec.constant}' or module names` };
  }
  return { value: text };
}

export class RecipeForm {
  // form: one entry of GET /v1/recipes; raw: path -> the text a user typed (kept across recipes)
  constructor(box, form, suggestions, raw, onInput) {
    this.box = box; this.form = form; this.root = form.schema; this.suggestions = suggestions;
    this.raw = raw; this.onInput = onInput; this.fields = new Map(); // path -> {spec, input, error, wrap, ...}
    this.touched = new Set(raw.keys()); // fields a user has been in: only theirs show errors before a submit
    this.render();
  }

  render() {
    const props = this.root.properties;
    clear(this.box, this.form.groups.map(g => {
      const body = el("div", { class: "fields" }, g.fields.map(name => this.field(name, props[name], this.root, name)));
      return el("details", { class: "group", open: g.open || null }, el("summary", {}, g.title), body);
    }));
  }

  field(name, prop, schema, path) {
    const spec = fieldSpec(prop, this.root);
    const required = (schema.required || []).includes(name);
    if (spec.kind === "object") return this.section(name, prop, spec, path);
    const id = "f-" + path.replace(/\./g, "-");
    const dflt = prop.default;
    const start = this.raw.has(path) ? this.raw.get(path) : dflt === undefined ? "" : spec.kind === "bool" ? dflt
      : dflt === null ? "" : shown(dflt);
    let input;
    if (spec.kind === "bool") {
      input = el("input", { type: "checkbox", id, name: path });
      input.checked = start === true || start === "true";
    } else if (spec.kind === "enum") {
      input = el("select", { id, name: path },
        spec.nullable ? el("option", { value: "" }, "(unset)") : null,
        spec.options.map(o => el("option", { value: o }, o)));
      input.value = start === null ? "" : String(start);
    } else if (MULTILINE.has(name)) {
      input = el("textarea", { id, name: path, rows: "3", spellcheck: "false",
        placeholder: spec.nullable ? "empty: unset" : null });
      input.value = String(start);
    } else {
      const list = this.suggestions[name] ? "dl-" + name : null;
      input = el("input", { type: "text", id, name: path, list, autocomplete: "off", spellcheck: "false",
        inputmode: spec.kind === "integer" ? "numeric" : spec.kind === "number" ? "decimal" : null,
        placeholder: spec.nullable ? "empty: unset" : dflt !== undefined ? `default ${shown(dflt)}` : required ? "required" : null,
        value: String(start) });
    }
    const error = el("div", { class: "field-error", id: id + "-error", role: "alert" });
    input.setAttribute("aria-describedby", id + "-help " + id + "-error");
    const b = bounds(spec);
    const help = el("div", { class: "help", id: id + "-help" }, prop.description || "",
      el("span", { class: "meta" }, [spec.kind === "modules" ? "names, comma-separated" : spec.kind, b,
        dflt !== undefined ? `default: ${shown(dflt)}` : required ? "required" : ""].filter(Boolean).join(" · ")));
    const head = el("label", { for: id }, el("span", { class: "title" }, prop.title || name),
      el("code", { class: "key" }, path), required ? el("span", { class: "req", title: "required" }, "*") : null);
    const wrap = el("div", { class: `field ${spec.kind === "bool" ? "bool" : ""}`, "data-path": path },
      spec.kind === "bool" ? el("label", { class: "check", for: id }, input, el("span", { class: "title" }, prop.title || name),
        el("code", { class: "key" }, path)) : [head, input],
      help, error, this.suggestions[name] ? el("datalist", { id: "dl-" + name },
        this.suggestions[name].map(v => el("option", { value: v }))) : null);
    const f = { spec, input, error, wrap, required, dflt, path };
    this.fields.set(path, f);
    const changed = () => {
      this.touched.add(path);
      this.raw.set(path, spec.kind === "bool" ? input.checked : input.value);
      this.mark(f); this.setError(path, ""); this.onInput?.();
    };
    input.addEventListener(spec.kind === "bool" || spec.kind === "enum" ? "change" : "input", changed);
    input.addEventListener("blur", () => {
      if (spec.kind === "bool" || !this.touched.has(path)) return;
      this.checkOne(f);
    });
    this.mark(f);
    return wrap;
  }

  // An object (lora): its own fields; a nullable one has a switch that leaves it out (the default).
  section(name, prop, spec, path) {
    const inner = el("div", { class: "fields" },
      Object.entries(spec.schema.properties).map(([k, p]) => this.field(k, p, spec.schema, `${path}.${k}`)));
    const box = el("fieldset", { class: "section", "data-path": path },
      el("legend", {}, prop.title || name, " ", el("code", { class: "key" }, path)),
      el("div", { class: "help" }, prop.description || ""), inner,
      el("div", { class: "field-error", id: `f-${path}-error`, role: "alert" }));
    const f = { spec, section: true, error: box.lastChild, wrap: box, path, inner };
    if (spec.nullable) {
      const on = el("input", { type: "checkbox", name: path + ".__set" });
      on.checked = this.raw.has(path + ".__set") ? this.raw.get(path + ".__set") : prop.default !== null;
      const sync = () => { inner.hidden = !on.checked; box.classList.toggle("off", !on.checked); };
      on.addEventListener("change", () => { this.raw.set(path + ".__set", on.checked); sync(); this.onInput?.(); });
      box.insertBefore(el("label", { class: "check" }, on, `Set ${name} (off: ${prop.default === null ? "the recipe decides" : "none"})`), inner);
      f.toggle = on;
      sync();
    }
    this.fields.set(path, f);
    return box;
  }

  mark(f) {
    if (f.section) return;
    const v = f.spec.kind === "bool" ? f.input.checked : f.input.value.trim();
    const d = f.dflt === undefined ? "" : f.spec.kind === "bool" ? f.dflt : f.dflt === null ? "" : shown(f.dflt);
    f.wrap.classList.toggle("changed", String(v) !== String(d));
  }

  checkOne(f, show = true) {
    const out = checkValue(f.spec, f.input.value, f.required);
    if (show) this.setError(f.path, out.error || "");
    return out;
  }

  // {recipe: {...}, errors: [{path, message}]} from what is in the form now
  collect() {
    const recipe = { recipe: this.form.recipe }, errors = [];
    const put = (path, value) => {
      const keys = path.split("."); let node = recipe;
      for (const k of keys.slice(0, -1)) node = node[k] ??= {};
      node[keys.at(-1)] = value;
    };
    const off = [...this.fields.values()].filter(f => f.toggle && !f.toggle.checked).map(f => f.path + ".");
    for (const f of this.fields.values()) {
      if (off.some(prefix => f.path.startsWith(prefix))) continue;
      if (f.section) { if (f.toggle && !f.toggle.checked) put(f.path, null); continue; }
      if (f.spec.kind === "bool") { put(f.path, f.input.checked); continue; }
      const out = this.checkOne(f, false);
      if (out.error) errors.push({ path: f.path, message: out.error });
      else if (!out.omit) put(f.path, out.value);
    }
    return { recipe, errors };
  }

  setError(path, message, kind = "error") {
    const f = this.fields.get(path);
    if (!f) return false;
    clear(f.error, message);
    f.error.classList.toggle("warning", kind === "warning");
    f.input?.setAttribute("aria-invalid", message && kind === "error" ? "true" : "false");
    f.wrap.classList.toggle("invalid", !!message && kind === "error");
    if (message) f.wrap.closest("details")?.setAttribute("open", "");
    return true;
  }

  clearErrors() { for (const path of this.fields.keys()) this.setError(path, ""); }

  // Put each problem on its field; the ones without a field come back.
  show(problems, kind = "error") {
    return problems.filter(p => !this.setError(p.path, p.message, kind));
  }

  focus(path) {
    const f = this.fields.get(path);
    if (!f) return;
    f.wrap.closest("details")?.setAttribute("open", "");
    f.wrap.scrollIntoView({ block: "center", behavior: "instant" });
    (f.input || f.toggle)?.focus?.();
  }

  focusFirstError() {
    const f = [...this.fields.values()].find(x => x.wrap.classList.contains("invalid"));
    if (f) this.focus(f.path);
  }
}
