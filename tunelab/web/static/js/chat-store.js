// The playground's conversations, kept in this browser (localStorage, one key per signed-in caller):
// each has its settings (system prompt, sampling, schema, collection, models) and turns (the user's
// message, one answer per model side by side, ratings, edits and the vote). Exports: one conversation
// as JSON (everything), all of them as JSONL chat records ({"messages": [...]}, a dataset TuneLab reads).

const PREFIX = "tunelab.chat.v1.";

export const DEFAULTS = Object.freeze({
  system: "", temperature: 0.7, top_p: 1, max_tokens: 256, seed: null, schema: "", collection: "", k: 4,
  models: [], blind: false,
});

export function uid(prefix = "c") {
  const rnd = crypto.getRandomValues(new Uint32Array(2));
  return prefix + "-" + Date.now().toString(36) + rnd[0].toString(36) + rnd[1].toString(36);
}

export class ChatStore {
  // onChange: another tab of this browser changed the conversations (shown unless busy() says this
  // tab is streaming: its answers then win when they are saved).
  constructor(owner, { onChange, busy } = {}) {
    this.key = PREFIX + (owner || "local");
    this.state = this.read();
    window.addEventListener("storage", ev => {
      if (ev.key === this.key && !busy?.()) { this.state = this.read(); onChange?.(); }
    });
  }

  read() {
    let state = null;
    try { state = JSON.parse(localStorage.getItem(this.key) || "null"); } catch { state = null; }
    if (!state || !Array.isArray(state.conversations)) state = { current: null, conversations: [] };
    for (const c of state.conversations) {
      c.settings = { ...DEFAULTS, ...(c.settings || {}) };
      c.turns ||= [];
      for (const t of c.turns) for (const a of t.answers || []) {
        if (a.status === "streaming") a.status = "stopped";  // the tab closed mid-answer
        delete a.editing;
      }
    }
    return state;
  }

  save() {
    try {
      localStorage.setItem(this.key, JSON.stringify(this.state));
    } catch (err) {
      throw new Error("This browser's storage is full: export and delete old conversations. (" + err.message + ")");
    }
  }

  get list() { return [...this.state.conversations].sort((a, b) => b.updated - a.updated); }

  get current() {
    let conv = this.state.conversations.find(c => c.id === this.state.current);
    if (!conv) conv = this.list[0] || this.create();
    this.state.current = conv.id;
    return conv;
  }

  create(settings) {
    const now = Date.now();
    const conv = { id: uid("conv"), title: "", created: now, updated: now,
                   settings: { ...DEFAULTS, ...(settings || {}) }, turns: [] };
    this.state.conversations.push(conv);
    this.state.current = conv.id;
    this.save();
    return conv;
  }

  select(id) { this.state.current = id; this.save(); }

  remove(id) {
    this.state.conversations = this.state.conversations.filter(c => c.id !== id);
    if (this.state.current === id) this.state.current = this.list[0]?.id || null;
    this.save();
  }

  touch(conv) {
    conv.updated = Date.now();
    if (!conv.title && conv.turns.length) conv.title = conv.turns[0].user.replace(/\s+/g, " ").slice(0, 60);
    this.save();
  }
}

// The answer a turn keeps for the rest of the conversation: the vote's winner, else an edited one,
// else the first. Its text is the user's edit when there is one.
export function preferred(turn) {
  const answers = turn.answers || [];
  if (turn.vote !== null && turn.vote !== undefined && answers[turn.vote]) return answers[turn.vote];
  return answers.find(a => a.edit) || answers[0];
}

export function answerText(answer) { return answer ? (answer.edit ?? answer.text ?? "") : ""; }

// The messages sent for the next turn in column `col`: the system prompt, then each earlier turn's
// user message and the answer of this column (else the preferred one).
export function history(conv, col = 0, upTo = conv.turns.length) {
  const out = [];
  if (conv.settings.system.trim()) out.push({ role: "system", content: conv.settings.system });
  for (const turn of conv.turns.slice(0, upTo)) {
    out.push({ role: "user", content: turn.user });
    const own = turn.answers?.[col];
    const keep = own && own.model === conv.settings.models[col] && !own.error ? own : preferred(turn);
    const text = answerText(keep);
    if (text) out.push({ role: "assistant", content: text });
  }
  return out;
}

export function toJSONL(conversations) {
  return conversations.filter(c => c.turns.length).map(c => {
    const messages = history(c);
    return JSON.stringify({ messages, meta: { conversation: c.id, title: c.title } });
  }).join("\n") + "\n";
}

export function download(filename, text, type = "application/json") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url; a.download = filename; a.style.display = "none";
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
