// Train: pick a recipe, fill its form (built from the recipe's own schema), see the YAML the server
// normalises it to (downloadable: `tunelab train FILE` runs it), and start it as a job. Nothing is
// submitted while a field is wrong: the browser checks the schema's rules, the server the rest.
import { api, clear, el, reportError, toast } from "/static/js/app.js";
import { RecipeForm } from "/static/js/train-form.js";

const $ = id => document.getElementById(id);
const params = new URLSearchParams(location.search);
const raw = new Map(); // what the user typed, by field path, kept when the recipe changes
const state = { forms: [], suggestions: {}, form: null, recipe: null, yaml: null, lastYaml: null, timer: null, seq: 0 };

function tabs() {
  clear($("recipe-tabs"), state.forms.map(f => el("button", {
    type: "button", role: "tab", class: "tab", id: "tab-" + f.recipe, "aria-selected": String(f.recipe === state.recipe),
    onclick: () => pick(f.recipe) }, f.title)));
}

function pick(recipe) {
  const form = state.forms.find(f => f.recipe === recipe) || state.forms[0];
  state.recipe = form.recipe;
  state.lastYaml = null; // another recipe's YAML would mislead
  tabs();
  clear($("recipe-description"), form.description);
  state.form = new RecipeForm($("recipe-fields"), form, state.suggestions, raw, scheduleCheck);
  history.replaceState(null, "", "?recipe=" + form.recipe);
  check();
}

function setYaml(text, note, ok) {
  state.yaml = ok ? text : null;
  clear($("yaml"), text || "The recipe's YAML shows here once every field is valid.");
  $("yaml").classList.toggle("stale", !ok);
  clear($("yaml-state"), note);
  $("download").disabled = !ok;
}

// The problems in the side panel too, each a button to its field (the form is long).
function showProblems(errors, warnings) {
  const item = (p, kind) => {
    const named = p.path && !p.message.startsWith(p.path + ":"); // "method: full cannot..." names it already
    return el("button", { type: "button", class: `problem ${kind}`, onclick: () => state.form.focus(p.path) },
      named ? el("code", {}, p.path) : null, named ? ": " : "", p.message);
  };
  clear($("problems"), errors.map(p => item(p, "error")), warnings.map(p => item(p, "warning")));
}

function scheduleCheck() {
  clearTimeout(state.timer);
  state.timer = setTimeout(check, 350);
}

// The browser's check, then the server's: returns the server's answer when the browser found nothing.
// `all`: show every problem (a submit), not only those of the fields the user has been in.
async function check({ quiet = true, all = false } = {}) {
  const seq = ++state.seq;
  const { recipe, errors } = state.form.collect();
  if (errors.length) {
    const shown = all ? errors : errors.filter(e => state.form.touched.has(e.path));
    state.form.clearErrors();
    state.form.show(shown);
    showProblems(shown, []);
    setYaml(state.lastYaml || "", `${errors.length} field${errors.length > 1 ? "s" : ""} to fix`, false);
    return null;
  }
  let v;
  try {
    v = await api("/v1/recipes/validate", { method: "POST", body: { recipe } });
  } catch (err) { if (!quiet) reportError(err); return null; }
  if (seq !== state.seq) return null; // a newer check is on its way
  state.form.clearErrors();
  state.form.show(v.errors);
  state.form.show(v.warnings, "warning");
  showProblems(v.errors, v.warnings);
  if (v.valid) state.lastYaml = v.yaml;
  if (v.valid) setYaml(v.yaml, v.warnings.length ? `valid · ${v.warnings.length} warning${v.warnings.length > 1 ? "s" : ""}` : "valid", true);
  else setYaml(state.lastYaml || "", `${v.errors.length} problem${v.errors.length > 1 ? "s" : ""}`, false);
  return v;
}

async function submit(ev) {
  ev.preventDefault();
  clearTimeout(state.timer);
  const button = $("submit");
  button.disabled = true;
  try {
    const v = await check({ quiet: false, all: true });
    if (!v || !v.valid) {
      state.form.focusFirstError();
      toast("Fix the marked fields first: nothing was submitted.", "error");
      return;
    }
    const job = await api("/v1/jobs", { method: "POST", body: { kind: "train", config: { recipe: v.recipe } } });
    toast(`Training job ${job.id} queued`, "ok");
    location.href = "/jobs/" + job.id;
  } catch (err) { reportError(err); } finally { button.disabled = false; }
}

function download() {
  if (!state.yaml) return;
  const name = (state.form.collect().recipe.adapter_name || `${state.recipe}-recipe`) + ".yaml";
  const a = el("a", { href: URL.createObjectURL(new Blob([state.yaml], { type: "application/yaml" })), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

async function init() {
  const forms = await api("/v1/recipes");
  state.forms = forms.data;
  state.suggestions = forms.suggestions;
  for (const [k, v] of params) if (k !== "recipe") raw.set(k, v); // ?dataset=NAME from the Datasets page
  pick(params.get("recipe") || "sft");
}

$("train-form").addEventListener("submit", submit);
$("download").addEventListener("click", download);
init().catch(reportError);
