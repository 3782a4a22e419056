"""Cited QA: a question + numbered sources [1]..[n] -> {"answerable", "answer", "citations"}, from
the sources only, through the [QA] prompt the e-commerce pack trains on (`tasks.ecommerce.prompts`).

Decoding is constrained by `qa_schema(n)`: either answerable with a non-empty answer citing 1..n
sources, or not answerable with the answer NOT_IN_CONTEXT and no citation. No sources means not
answerable without asking the model. A reply that is not such JSON (an upstream that ignores the
schema) is read as free text: the answer is the text, answerable unless it says NOT_IN_CONTEXT.

That is the "free" mode; its citations are checked against the answer's words (`check_citations`:
a cited source that shares none with the answer is dropped). In the "grounded" mode
(`grounded_qa.py`) the answer is built around a sentence of the sources, chosen by ranking and
returned with its offsets (`QAAnswer.quote`): the sentence verbatim, or a list item after the line
that introduces its list;
"auto", the default, is grounded for local models below `GROUNDED_BELOW_PARAMS` parameters (the
small models that misquote facts) and free for large local models and upstreams."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from tunelab.engine.types import Constraint
from tunelab.rag.grounded_qa import Quote, answer_text, ground
from tunelab.tasks.ecommerce.prompts import NOT_IN_CONTEXT, qa_messages, source_overlap, supporting_sources
from tunelab.tasks.model import TaskModel

DEFAULT_CONCURRENCY = 32
KEYS = ("answerable", "answer", "citations")
MODES = ("auto", "grounded", "free")
GROUNDED_BELOW_PARAMS = 3_000_000_000
_MARKER = re.compile(r"\[\d+\]")  # a citation marker written into the answer


@dataclass(frozen=True)
class QAAnswer:
    """`citations`: 1-based numbers of the sources the answer rests on (within range, no repeats)."""

    answer: str
    answerable: bool
    citations: list[int]
    raw: str
    quote: Quote | None = None  # grounded mode: the span of the sources the answer is built around
    mode: str = "free"


def resolve_mode(model: TaskModel, mode: str = "auto") -> str:
    """"grounded" or "free" for `mode` (auto: grounded for a local model below GROUNDED_BELOW_PARAMS)."""
    if mode not in MODES:
        raise ValueError(f"QA mode '{mode}' is not one of: {', '.join(MODES)}.")
    if mode != "auto":
        return mode
    loaded = getattr(model, "loaded", None)
    if loaded is None:
        return "free"
    return "grounded" if sum(p.numel() for p in loaded.model.parameters()) < GROUNDED_BELOW_PARAMS else "free"


def qa_schema(n_sources: int) -> dict:
    """The JSON schema of a [QA] reply over `n_sources` (>= 1) sources; keys in the order of KEYS."""
    answered = {"answerable": {"const": True}, "answer": {"type": "string", "minLength": 1},
                "citations": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": n_sources},
                              "minItems": 1, "maxItems": n_sources}}
    refused = {"answerable": {"const": False}, "answer": {"const": NOT_IN_CONTEXT},
               "citations": {"type": "array", "maxItems": 0}}
    return {"anyOf": [{"type": "object", "properties": props, "required": list(KEYS), "additionalProperties": False}
                      for props in (answered, refused)]}


def not_answerable(raw: str = "") -> QAAnswer:
    return QAAnswer(answer=NOT_IN_CONTEXT, answerable=False, citations=[], raw=raw)


def parse_answer(raw: str, n_sources: int) -> QAAnswer:
    """Read a model's reply; citations outside 1..n_sources and repeats are dropped."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("answerable"), bool):
        text = raw.strip()
        if not text or NOT_IN_CONTEXT.lower().rstrip(".") in text.lower():
            return not_answerable(raw)
        return QAAnswer(answer=text, answerable=True, citations=[], raw=raw)
    answer = parsed.get("answer") if isinstance(parsed.get("answer"), str) else ""
    if not parsed["answerable"] or not answer.strip():
        return not_answerable(raw)
    cited = parsed.get("citations") if isinstance(parsed.get("citations"), list) else []
    citations = list(dict.fromkeys(c for c in cited if isinstance(c, int) and not isinstance(c, bool)
                                   and 1 <= c <= n_sources))
    return QAAnswer(answer=answer, answerable=True, citations=citations, raw=raw)


def check_citations(answer: QAAnswer, sources: Sequence[str]) -> QAAnswer:
    """A free answer's citations, checked against what it says: the cited sources that share a
    content word with the answer are kept; when none does (a small model cites [1] by habit), the
    sources sharing the most are cited instead. Left as they are when no source shares a word."""
    said = _MARKER.sub(" ", answer.answer)  # "[1]" is no word of the answer
    overlap = source_overlap(said, sources)
    if not answer.answerable or max(overlap, default=0) == 0:
        return answer
    kept = [c for c in answer.citations if overlap[c - 1] > 0]
    return replace(answer, citations=kept or supporting_sources(said, sources))


def _check(question: str, sources: Sequence[str], record_id: str | None) -> None:
    where = f"record {record_id!r}" if record_id is not None else "the request"
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"Empty question in {where}.")
    if any(not isinstance(s, str) for s in sources):
        raise ValueError(f"Every source in {where} must be a string.")


async def _grounded(model: TaskModel, question: str, sources: list[str]) -> QAAnswer:
    found = await ground(model, question, sources)
    if found.quote is None:
        return QAAnswer(answer=NOT_IN_CONTEXT, answerable=False, citations=[], raw="", mode="grounded")
    q = found.quote
    return QAAnswer(answer=answer_text(sources, q), answerable=True, citations=[q.source], raw=q.text, quote=q,
                    mode="grounded")


async def _answer(model: TaskModel, question: str, sources: list[str], max_tokens: int,
                  mode: str = "free") -> QAAnswer:
    if not any(s.strip() for s in sources):  # nothing to answer from: no need to ask
        return not_answerable()
    if mode == "grounded":
        return await _grounded(model, question, sources)
    constraint = Constraint(kind="json_schema", schema=qa_schema(len(sources)))
    # the refusal is the longest fixed reply: always leave room to write it whole
    budget = max(max_tokens, len(json.dumps({"answerable": False, "answer": NOT_IN_CONTEXT, "citations": []})) + 16)
    raw = await model.complete(qa_messages(question, sources), max_tokens=budget, constraint=constraint)
    return check_citations(parse_answer(raw, len(sources)), sources)


async def answer_question(model: TaskModel, question: str, sources: list[str], *, max_tokens: int = 160,
                          record_id: str | None = None, mode: str = "auto") -> QAAnswer:
    """Answer `question` from `sources` (numbered [1]..[n] in the prompt, so citations index `sources`).
    `mode`: auto | grounded | free (see the module's docstring). Raises ValueError on an empty
    question (naming `record_id`) or an unknown mode."""
    _check(question, sources, record_id)
    return await _answer(model, question, list(sources), max_tokens, resolve_mode(model, mode))


async def answer_many(model: TaskModel, questions: Sequence[str], sources: Sequence[list[str]], *,
                      max_tokens: int = 160, record_ids: Sequence[str] | None = None,
                      concurrency: int = DEFAULT_CONCURRENCY, mode: str = "auto") -> list[QAAnswer]:
    """`answer_question` for many (question, sources) pairs, in order, up to `concurrency` at once."""
    if len(sources) != len(questions) or (record_ids is not None and len(record_ids) != len(questions)):
        raise ValueError(f"{len(questions)} questions need as many source lists (got {len(sources)})"
                         + (f" and record ids (got {len(record_ids)})." if record_ids is not None else "."))
    ids = list(record_ids) if record_ids is not None else [str(i) for i in range(len(questions))]
    for q, s, rid in zip(questions, sources, ids):
        _check(q, s, rid)
    gate, chosen = asyncio.Semaphore(max(1, concurrency)), resolve_mode(model, mode)

    async def one(q: str, s: list[str]) -> QAAnswer:
        async with gate:
            return await _answer(model, q, list(s), max_tokens, chosen)

    return list(await asyncio.gather(*(one(q, s) for q, s in zip(questions, sources))))
