"""Answers grounded in a collection: retrieve, number the chunks as sources [1]..[n], let the model
answer through the [QA] prompt (JSON {answerable, answer, citations}; `tunelab.rag.cited_qa`), and
map its citations back to the chunks. Nothing retrieved: answerable False, without asking the model.
Citations outside 1..n are dropped (and noted); an answer the model marks unanswerable cites nothing.

`grounding_messages(messages, hits)` puts the same numbered sources into a chat's system message (the
chat endpoint with a collection), and `cited_sources(text, hits)` maps the [n] markers of a free
reply back to the chunks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import anyio

from tunelab.rag.cited_qa import NOT_IN_CONTEXT, answer_question
from tunelab.rag.expand import ModelQueryExpander
from tunelab.rag.filters import Filters
from tunelab.rag.rerank import Reranker
from tunelab.rag.search import Searcher
from tunelab.rag.self_query import ModelSelfQuery, collection_values
from tunelab.rag.vectors import Hit
from tunelab.tasks.model import TaskModel

SNIPPET_CHARS = 300  # of each source, in citations and listings
MAX_SOURCE_CHARS = 1500  # of each source in a prompt: k long chunks must still fit a small model's context
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")

GROUNDING = ("Answer from the numbered sources below and cite the ones you use as [n]. If they do not hold "
             "the answer, say that the sources do not contain it instead of guessing.")


@dataclass
class SourceRef:
    """One retrieved chunk as a numbered source: `index` is its number in the prompt (from 1)."""

    index: int
    doc_id: str  # the catalogue record's id, else the document's source
    chunk_id: str
    source: str
    title: str | None
    snippet: str  # the start of the text on one line, for listings
    score: float
    text: str = ""  # what the model read as this source (cut at MAX_SOURCE_CHARS)

    @classmethod
    def of(cls, index: int, hit: Hit) -> SourceRef:
        flat = " ".join(hit.text.split())
        snippet = flat if len(flat) <= SNIPPET_CHARS else flat[:SNIPPET_CHARS - 1] + "…"
        title = hit.meta.get("title")
        return cls(index=index, doc_id=hit.doc_id, chunk_id=hit.id, source=hit.source,
                   title=None if title is None else str(title), snippet=snippet, score=float(hit.score),
                   text=source_text(hit))


@dataclass
class CitedAnswer:
    question: str
    answer: str
    answerable: bool
    citations: list[SourceRef]  # the sources the answer cites, in the order first cited
    sources: list[SourceRef]  # every retrieved chunk, numbered as in the prompt
    query: str = ""  # what was searched (the question, or self-query's rewrite)
    filters: dict[str, Any] = field(default_factory=dict)  # the filters applied (caller's and self-query's)
    expansions: list[str] = field(default_factory=list)  # extra queries from query expansion
    raw: str = ""  # the model's reply
    notes: list[str] = field(default_factory=list)
    quote: dict[str, Any] | None = None  # grounded mode: {source, start, end, text} of the span the answer is
    answer_mode: str = "free"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def source_text(hit: Hit, limit: int = MAX_SOURCE_CHARS) -> str:
    text = hit.text.strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def map_citations(numbers: Sequence[int], sources: Sequence[SourceRef]) -> tuple[list[SourceRef], list[int]]:
    """(the sources numbered `numbers`, each once, in order; the numbers that name no source)."""
    chosen, bad = [], []
    for n in dict.fromkeys(numbers):
        if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= len(sources):
            chosen.append(sources[n - 1])
        else:
            bad.append(n)
    return chosen, bad


async def ask(question: str, *, searcher: Searcher, model: TaskModel, k: int = 5, mode: str = "hybrid",
              filters: Filters | None = None, reranker: Reranker | None = None, self_query: bool = False,
              expand: bool = False, max_tokens: int = 160, answer_mode: str = "auto") -> CitedAnswer:
    """Retrieve up to `k` chunks for `question` and answer from them with citations.

    `self_query`: the model first turns the question into a search query and filters (added to
    `filters`; the caller's win). `expand`: the model adds other phrasings, searched too and fused.
    `answer_mode`: auto | grounded | free (`cited_qa`). The search runs in a worker thread
    (embedding and reranking are CPU work)."""
    if not question or not question.strip():
        raise ValueError("Ask a question: it is empty.")
    query, notes, expansions = question, [], []
    filters = filters or Filters()
    if self_query:
        # the allowed values come from the BM25 index (disk), so off the loop; the object is made on it
        categories = await anyio.to_thread.run_sync(collection_values, searcher, "category")
        brands = await anyio.to_thread.run_sync(collection_values, searcher, "brand")
        sq = ModelSelfQuery(model, categories=categories, brands=brands)
        parsed = await sq.parse(question)
        query, filters = parsed.query, filters.merged(parsed.filters)
        notes += [f"self-query: {n}" for n in parsed.notes]
    if expand:
        expansions = await ModelQueryExpander(model).expand(question)
    # a pooled anyio thread: a reranker may call the model back through anyio.from_thread
    hits = await anyio.to_thread.run_sync(partial(
        searcher.search, query, mode=mode, k=k, filters=filters, reranker=reranker,  # type: ignore[arg-type]
        expand=(lambda _q: expansions) if expansions else None))
    sources = [SourceRef.of(i, h) for i, h in enumerate(hits, start=1)]
    base = dict(question=question, sources=sources, query=query, expansions=expansions,
                filters=filters.model_dump(exclude_none=True, exclude_defaults=True))
    if not hits:
        return CitedAnswer(answer=NOT_IN_CONTEXT, answerable=False, citations=[],
                           notes=notes + ["nothing was retrieved, so the model was not asked"], **base)
    reply = await answer_question(model, question, [s.text for s in sources], max_tokens=max_tokens,
                                  mode=answer_mode)
    citations, bad = map_citations(reply.citations, sources)
    if bad:
        notes.append(f"citations {bad} name no source (1-{len(sources)}); dropped")
    if not reply.answerable and citations:
        notes.append("the answer is marked unanswerable; its citations were dropped")
        citations = []
    return CitedAnswer(answer=reply.answer, answerable=bool(reply.answerable), citations=citations, raw=reply.raw,
                       notes=notes, quote=reply.quote.to_dict() if reply.quote else None, answer_mode=reply.mode,
                       **base)


def _text_of(content: Any) -> str:
    """A message's content as text: a string, or OpenAI content parts (their text parts joined)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type", "text") == "text")


def last_user_text(messages: Sequence[dict]) -> str:
    """The latest user turn: what a grounded chat retrieves for."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def sources_block(hits: Sequence[Hit]) -> str:
    """The numbered sources as the [QA] prompt and a grounded chat show them."""
    if not hits:
        return "Sources: none were found."
    return "Sources:\n" + "\n".join(f"[{i}] {source_text(h)}" for i, h in enumerate(hits, start=1))


def grounding_messages(messages: Sequence[dict], hits: Sequence[Hit]) -> list[dict]:
    """`messages` with the numbered sources (and how to cite them) in the system message: appended
    to the first system message, or a new one placed first. The other messages are not changed."""
    block = f"{GROUNDING}\n\n{sources_block(hits)}"
    out = [dict(m) for m in messages]
    for m in out:
        if m.get("role") == "system":
            have = _text_of(m.get("content")).rstrip()
            m["content"] = f"{have}\n\n{block}" if have else block
            return out
    return [{"role": "system", "content": block}, *out]


def cited_sources(text: str, hits: Sequence[Hit]) -> list[SourceRef]:
    """The sources a free-text reply cites with [n] or [n, m] markers, in order, each once; markers
    that name no source are ignored."""
    numbers = [int(n) for m in _MARKER.finditer(text) for n in m.group(1).split(",")]
    sources = [SourceRef.of(i, h) for i, h in enumerate(hits, start=1)]
    return map_citations(numbers, sources)[0]
