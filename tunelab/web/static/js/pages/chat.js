// Chat playground: any model, adapter or upstream of GET /v1/models, streamed token by token from
// POST /v1/chat/completions; one to four models side by side (optionally blind); conversations kept
// in this browser; each rating, edit and vote posted as feedback (see chat-feedback.js).
import { api, clear, el, poll, reportError, toast } from "/static/js/app.js";
import { ChatStore, download, history, toJSONL, uid } from "/static/js/chat-store.js";
import { streamChat } from "/static/js/chat-stream.js";
import { renderThread, renderTurn } from "/static/js/chat-view.js";
import { FeedbackPanel, recordFor } from "/static/js/chat-feedback.js";
import { readSettings, showSettings } from "/static/js/chat-settings.js";

const $ = id => document.getElementById(id);
const MAX_MODELS = 4;
const store = new ChatStore($("chat").dataset.caller, { onChange: () => showAll(), busy: () => running.length > 0 });
const panel = new FeedbackPanel($("feedback-panel"), { owner: $("chat").dataset.caller,
                                                       onLoaded: () => loadModels().catch(reportError) });
let models = [];  // what GET /v1/models lists, less the embedding models
let running = [];  // AbortControllers of the answers in flight

function modelInfo(id) { return models.find(m => m.id === id); }
function kindOf(id) { return modelInfo(id)?.tunelab_kind; }
function conv() { return store.current; }

// -- the models row -----------------------------------------------------------------------------

function modelSelect(value, col) {
  const groups = [["base", "Base model"], ["adapter", "Adapters"], ["upstream", "Upstreams"]];
  const select = el("select", { "aria-label": `Model ${col + 1}`, dataset: { col } },
    groups.map(([kind, label]) => {
      const items = models.filter(m => m.tunelab_kind === kind);
      return items.length ? el("optgroup", { label }, items.map(m => el("option", { value: m.id }, m.id))) : null;
    }),
    modelInfo(value) ? null : el("option", { value }, `${value} (not on this server)`));
  select.value = value;
  select.addEventListener("change", () => {
    conv().settings.models[col] = select.value;
    store.save();
    showModels();
  });
  return select;
}

function showModels() {
  const c = conv();
  if (!models.length) return;
  const base = models.find(m => m.tunelab_kind === "base")?.id || models[0].id;
  if (!c.settings.models.length) c.settings.models = [base];
  const side = c.settings.models.length > 1;
  clear($("models"), c.settings.models.map((m, col) => el("span", { class: "model-pick" },
    side ? el("span", { class: "letter" }, "ABCD"[col]) : null,
    modelSelect(m, col),
    side ? el("button", { type: "button", class: "ghost small", title: "Remove this model", "aria-label": `Remove model ${col + 1}`,
                          onclick: () => { c.settings.models.splice(col, 1); store.save(); showModels(); } }, "×") : null)));
  $("add-model").disabled = c.settings.models.length >= MAX_MODELS;
  $("blind").checked = c.settings.blind;
  $("blind").disabled = !side;
  clear($("mode-note"), side ? `${c.settings.models.length} models side by side${c.settings.blind ? ", blind" : ""}` : "");
}

$("add-model").addEventListener("click", () => {
  const c = conv();
  const used = new Set(c.settings.models);
  const next = models.find(m => !used.has(m.id)) || models[0];
  if (next && c.settings.models.length < MAX_MODELS) c.settings.models.push(next.id);
  store.save();
  showModels();
});
$("blind").addEventListener("change", () => { conv().settings.blind = $("blind").checked; store.save(); showModels(); });

// -- conversations ------------------------------------------------------------------------------

function showConversations() {
  const current = conv();
  clear($("conv-list"), store.list.map(c => el("li", { class: c.id === current.id ? "current" : "" },
    el("button", { type: "button", onclick: () => { if (!running.length) { store.select(c.id); showAll(); } } },
      el("span", { class: "t" }, c.title || "New conversation"),
      el("span", { class: "w" }, `${c.turns.length} turn${c.turns.length === 1 ? "" : "s"} · `
        + new Date(c.updated).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" }))))));
}

$("new-conv").addEventListener("click", () => {
  if (running.length) return;
  const { system, temperature, top_p, max_tokens, seed, schema, collection, k, models: ms, blind } = conv().settings;
  store.create({ system, temperature, top_p, max_tokens, seed, schema, collection, k, models: [...ms], blind });
  showAll();
  $("prompt").focus();
});

let deleteArmed = null;
$("delete-conv").addEventListener("click", () => {
  const btn = $("delete-conv");
  if (deleteArmed !== conv().id) {  // a second click confirms: no browser dialog
    deleteArmed = conv().id;
    btn.textContent = "Delete it?";
    setTimeout(() => { deleteArmed = null; btn.textContent = "Delete"; }, 4000);
    return;
  }
  deleteArmed = null;
  btn.textContent = "Delete";
  store.remove(conv().id);
  showAll();
});

function fileName(c, ext) {
  const slug = (c.title || "conversation").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
  return `tunelab-chat-${slug || "conversation"}.${ext}`;
}
$("export-json").addEventListener("click", () => {
  const c = conv();
  download(fileName(c, "json"), JSON.stringify(c, null, 2) + "\n");
});
$("export-jsonl").addEventListener("click", () => {
  const text = toJSONL(store.list);
  if (text.trim() === "") { toast("No conversation has a message yet.", "info"); return; }
  download("tunelab-chats.jsonl", text, "application/x-ndjson");
});

// -- the thread ---------------------------------------------------------------------------------

const handlers = {
  kindOf,
  refresh: turn => refreshTurn(turn),
  onRate: (turn, i, rating) => {
    if (turn.answers[i].feedback?.rating === rating) { toast("Already rated so; the other button changes it.", "info", 2500); return; }
    judge(turn, i, { rating });
  },
  onEdit: (turn, i, text) => {
    const a = turn.answers[i];
    if (!text.trim()) { toast("The better answer is empty: write one, or cancel.", "error"); return; }
    if (text.trim() === a.text.trim()) { toast("That is the model's answer unchanged: edit it into a better one.", "error"); return; }
    a.editing = false;
    a.edit = text;
    store.touch(conv());
    refreshTurn(turn);
    judge(turn, i, { edit: text });
  },
  onVote: (turn, i) => {
    turn.vote = i;
    store.touch(conv());
    refreshTurn(turn);
    judge(turn, i, { choice: i }, true);
  },
};

async function judge(turn, i, judgement, all = false) {
  const c = conv();
  const a = turn.answers[i];
  try {
    const saved = await panel.post(recordFor(c, turn, i, judgement, all, modelInfo));
    a.feedback = { ...(a.feedback || {}), ...(judgement.rating ? { rating: judgement.rating } : {}), saved: saved.id };
    if (judgement.choice !== undefined) turn.voteId = saved.id;
    store.touch(c);
    refreshTurn(turn);
  } catch (err) {
    reportError(err);
  }
}

function refreshTurn(turn) {
  const node = document.getElementById("turn-" + turn.id);
  if (node) node.replaceWith(renderTurn(turn, handlers));
}

function showThread() { renderThread($("thread"), conv(), handlers); }

function showAll() {
  showConversations();
  showModels();
  showSettings(conv().settings);
  showThread();
  updateComposer();
}

// -- sending ------------------------------------------------------------------------------------

function updateComposer() {
  const busy = running.length > 0;
  $("send").hidden = busy;
  $("stop").hidden = !busy;
  clear($("composer-note"), busy ? "Answering… (Esc or Stop cancels)" : "");
}

function shuffled(n) {
  const order = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = crypto.getRandomValues(new Uint32Array(1))[0] % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function requestBody(model, messages, s) {
  const body = { model, messages, temperature: s.temperature, top_p: s.top_p, max_tokens: s.max_tokens };
  if (s.seed !== null) body.seed = s.seed;
  if (s.schemaObject) body.response_format = { type: "json_schema", json_schema: { name: "answer", schema: s.schemaObject } };
  if (s.collection) { body.tunelab_collection = s.collection; body.tunelab_k = s.k; }
  return body;
}

async function send() {
  if (running.length) return;
  const text = $("prompt").value;
  if (!text.trim()) { $("prompt").focus(); return; }
  const s = readSettings();
  if (!s) { toast("Fix the settings marked in red first.", "error"); return; }
  const c = conv();
  Object.assign(c.settings, s.stored);
  if (!c.settings.models.length) { toast("No model to ask: the server lists none yet.", "error"); return; }
  const cols = [...c.settings.models];
  const prompts = cols.map((_, col) => [...history(c, col), { role: "user", content: text }]);
  const turn = { id: uid("t"), user: text, created: Date.now(), vote: null, blind: c.settings.blind && cols.length > 1,
    answers: cols.map(model => ({ model, text: "", status: "streaming", collection: s.collection || undefined,
                                  json: !!s.schemaObject })) };
  if (turn.blind) turn.order = shuffled(cols.length);
  if (!c.turns.length) $("thread").replaceChildren();
  c.turns.push(turn);
  $("prompt").value = "";
  store.touch(c);
  $("thread").append(renderTurn(turn, handlers));
  showConversations();
  document.getElementById("turn-" + turn.id)?.scrollIntoView({ block: "nearest" });
  await Promise.all(cols.map((model, col) => answer(c, turn, col, requestBody(model, prompts[col], s))));
  store.touch(c);
  showConversations();
}

async function answer(c, turn, col, body) {
  const a = turn.answers[col];
  const ctrl = new AbortController();
  running.push(ctrl);
  updateComposer();
  const started = performance.now();
  const textNode = () => document.querySelector(`[data-answer="${turn.id}:${col}"] .answer-text`);
  try {
    await streamChat(body, {
      signal: ctrl.signal,
      onText: delta => { a.text += delta; const n = textNode(); if (n) n.textContent = a.text; },
      onSources: list => { a.sources = list; refreshTurn(turn); },
      onCitations: list => { a.citations = list; },
      onFinish: reason => { a.finish = reason; },
      onUsage: usage => { a.usage = usage; },
    });
    a.status = "done";
  } catch (err) {
    if (err.name === "AbortError") a.status = "stopped";
    else {
      a.status = "error";
      a.error = err.message;
      if (err.status === 0) api("/health").catch(() => {});  // the top bar's dot shows the lost connection
    }
  } finally {
    a.ms = Math.round(performance.now() - started);
    running = running.filter(x => x !== ctrl);
    store.save();
    refreshTurn(turn);
    updateComposer();
  }
}

function stop() { for (const ctrl of running) ctrl.abort(); }

$("composer").addEventListener("submit", ev => { ev.preventDefault(); send().catch(reportError); });
$("stop").addEventListener("click", stop);
$("prompt").addEventListener("keydown", ev => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send().catch(reportError); }
  if (ev.key === "Escape" && running.length) stop();
});
$("settings").addEventListener("input", () => { const s = readSettings(); if (s) { Object.assign(conv().settings, s.stored); store.save(); } });

// -- what the server offers ---------------------------------------------------------------------

async function loadModels() {
  const [list, collections] = await Promise.all([api("/v1/models"), api("/v1/collections")]);
  const fresh = list.data.filter(m => m.tunelab_kind !== "embedding");
  const changed = JSON.stringify(fresh.map(m => m.id)) !== JSON.stringify(models.map(m => m.id));
  models = fresh;
  const select = $("collection");
  const names = collections.data.map(c => c.name);
  const have = [...select.options].map(o => o.value).filter(Boolean);
  if (JSON.stringify(names) !== JSON.stringify(have)) {
    const keep = conv().settings.collection;
    clear(select, el("option", { value: "" }, "off"), collections.data.map(col =>
      el("option", { value: col.name }, `${col.name} (${col.documents} docs)`)));
    if (keep && !names.includes(keep)) select.append(el("option", { value: keep }, `${keep} (not on this server)`));
    select.value = keep || "";
  }
  if (changed && !running.length) showModels();
  openAsked();
}

// /chat?model=NAME (the Adapters page's "Chat with it"): a new conversation with that model, once.
let asked = new URLSearchParams(location.search).get("model");
function openAsked() {
  if (!asked || !models.some(m => m.id === asked)) return;
  if (conv().turns.length) store.create({ ...conv().settings, models: [asked] });
  else { conv().settings.models = [asked]; store.save(); }
  asked = null;
  window.history.replaceState(null, "", location.pathname);
  showAll();
}

if (matchMedia("(max-width: 760px)").matches) $("settings-box").open = false;
showAll();
poll(loadModels, 15000);
panel.start().catch(reportError);
