// How the playground's thread looks: the user's messages, the answers of each turn (one, or two to
// four side by side; blind turns show "Model A" until the vote), their sources, and the buttons that
// turn an answer into feedback (rate, edit, pick the better). Text is only ever inserted as text.
import { clear, el, fmtNum } from "/static/js/app.js";
import { citedNumbers } from "/static/js/chat-stream.js";
import { answerText } from "/static/js/chat-store.js";

export const LETTERS = ["A", "B", "C", "D"];

// handlers: onRate(turn, i, +1|-1), onEdit(turn, i, text), onVote(turn, i), kindOf(modelId)
export function renderThread(box, conv, handlers) {
  if (!conv.turns.length) {
    clear(box, el("div", { class: "card chat-empty" },
      el("div", { class: "big" }, "Ask something"),
      el("div", {}, "Pick a model, adapter or upstream above; add more to compare them side by side."),
      el("div", { class: "small" }, "Rate, edit or pick the better answer: each one becomes feedback that trains a better adapter.")));
    return;
  }
  clear(box, conv.turns.map(turn => renderTurn(turn, handlers)));
}

export function renderTurn(turn, handlers) {
  const order = turn.order || turn.answers.map((_, i) => i);
  const node = el("div", { class: "turn", id: "turn-" + turn.id },
    el("div", { class: "msg-user" }, turn.user),
    el("div", { class: "answers", style: `--cols: ${turn.answers.length}` },
      order.map((i, pos) => renderAnswer(turn, i, pos, handlers))));
  if (turn.answers.length > 1 && !hasVote(turn)) {
    const done = turn.answers.every(a => a.status !== "streaming");
    node.append(el("div", { class: "vote-bar" }, done
      ? (turn.blind ? "Which answer is better? The names show once you pick." : "Which answer is better?")
      : "Answering side by side…"));
  }
  return node;
}

export function hasVote(turn) { return turn.vote !== null && turn.vote !== undefined; }

export function answerLabel(turn, i) {
  const pos = (turn.order || turn.answers.map((_, j) => j)).indexOf(i);
  if (turn.blind && !hasVote(turn)) return `Model ${LETTERS[pos]}`;
  return turn.answers[i].model;
}

export function renderAnswer(turn, i, pos, handlers) {
  const a = turn.answers[i];
  const side = turn.answers.length > 1;
  const hidden = turn.blind && !hasVote(turn);
  const kind = hidden ? null : handlers.kindOf?.(a.model);
  const classes = ["answer", a.status === "streaming" ? "streaming" : "", turn.vote === i ? "winner" : ""];
  return el("article", { class: classes.join(" ").trim(), dataset: { answer: `${turn.id}:${i}`, model: hidden ? "" : a.model } },
    el("div", { class: "answer-head" },
      side ? el("span", { class: "badge" }, LETTERS[pos]) : null,
      el("span", { class: "name" }, answerLabel(turn, i)),
      kind ? el("span", { class: "badge kind" }, kind) : null,
      turn.vote === i ? el("span", { class: "badge pass" }, "better") : null,
      a.collection ? el("span", { class: "badge" }, "RAG: " + a.collection) : null),
    body(turn, a, i, handlers),
    sources(a),
    foot(turn, a, i, pos, handlers));
}

function body(turn, a, i, handlers) {
  if (a.editing) {
    const area = el("textarea", { rows: 5, "aria-label": "Better answer", value: answerText(a) });
    const save = () => handlers.onEdit(turn, i, area.value);
    return el("div", { class: "edit-box" }, area,
      el("div", { class: "row" },
        el("button", { type: "button", class: "small primary", onclick: save }, "Save as the better answer"),
        el("button", { type: "button", class: "small", onclick: () => { a.editing = false; handlers.refresh(turn); } }, "Cancel")));
  }
  const text = a.edit ?? a.text;
  const shown = a.json ? pretty(text) : text;
  const parts = [el("div", { class: "answer-text" + (a.json ? " json" : "") }, shown)];
  if (a.edit !== undefined && a.edit !== null) {
    const orig = el("details", { class: "edited-note" }, el("summary", {}, "edited by you · the model's answer"),
      el("div", { class: "answer-text" }, a.text));
    parts.push(orig);
  }
  if (a.error) parts.push(el("div", { class: "error small", role: "alert" }, a.error));
  return el("div", {}, parts);
}

function pretty(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

function sources(a) {
  if (!a.sources?.length) return null;
  const cited = new Set((a.citations || []).map(c => c.index));
  if (!a.citations) for (const n of citedNumbers(a.text || "")) cited.add(n);
  return el("div", { class: "sources" },
    el("strong", {}, `Sources (${a.sources.length})`),
    el("ol", {}, a.sources.map(s => el("li", { class: cited.has(s.index) ? "cited" : "", value: s.index },
      el("span", {}, s.title || s.source), " ", cited.has(s.index) ? el("span", { class: "badge pass" }, "cited") : null,
      el("div", { class: "src" }, s.snippet)))));
}

function foot(turn, a, i, pos, handlers) {
  if (a.status === "streaming") return el("div", { class: "answer-foot" }, el("span", { class: "meta" }, "answering…"));
  const fb = a.feedback || {};
  const side = turn.answers.length > 1;
  const canJudge = !a.error || a.text;
  return el("div", { class: "answer-foot" },
    canJudge ? [
      el("button", { type: "button", class: fb.rating === 1 ? "on" : "", title: "Good answer", "aria-label": "Rate up",
                     "aria-pressed": fb.rating === 1 ? "true" : "false", onclick: () => handlers.onRate(turn, i, 1) }, "▲ Good"),
      el("button", { type: "button", class: fb.rating === -1 ? "on" : "", title: "Bad answer", "aria-label": "Rate down",
                     "aria-pressed": fb.rating === -1 ? "true" : "false", onclick: () => handlers.onRate(turn, i, -1) }, "▼ Bad"),
      el("button", { type: "button", title: "Edit it into a better answer (becomes a preference pair)",
                     onclick: () => { a.editing = true; handlers.refresh(turn); } }, "✎ Edit"),
      side && !hasVote(turn) && turn.answers.every(x => x.status !== "streaming")
        ? el("button", { type: "button", class: "primary", onclick: () => handlers.onVote(turn, i) },
             turn.blind ? `${LETTERS[pos]} is better` : "This one is better")
        : null,
    ] : null,
    el("span", { class: "meta" }, meta(a)));
}

function meta(a) {
  const bits = [];
  if (a.status === "stopped") bits.push("stopped");
  if (a.finish === "length") bits.push("cut at max tokens");
  if (a.usage?.completion_tokens) bits.push(`${a.usage.completion_tokens} tokens`);
  if (a.ms) bits.push(`${fmtNum(a.ms / 1000, 1)} s`);
  if (a.usage?.completion_tokens && a.ms) bits.push(`${fmtNum(a.usage.completion_tokens / (a.ms / 1000), 0)} tok/s`);
  if (a.json) bits.push(isJSON(a.text) ? "valid JSON" : "not JSON");
  if (a.feedback?.saved) bits.push("feedback saved");
  return bits.join(" · ");
}

function isJSON(text) { try { JSON.parse(text); return true; } catch { return false; } }
