"""Self-query: a model turns a shopper's question into a search query plus metadata filters, through
constrained JSON output {"query", "category", "brand", "price_min", "price_max"} (the fields of
`Filters`); category and brand are limited to the values the collection holds when it holds few.
Grounded by default: a filter the question does not state is dropped (and noted), since a small model
invents filters readily and one wrong filter hides every relevant document. A brand must appear in the
question, a price's number too, and a category's last level (or one '&' part of it) word for word; a
query sharing no word with the question is replaced by the question.

`await ModelSelfQuery(model, categories=..., brands=...).parse(question)` is the primary call: task
models are async (an engine or an HTTP client on an event loop) while `Searcher.search` and its
`self_query` hook are sync. Calling the object itself (the hook) is supported from a worker thread
whose event loop runs the model: `ask` runs the search off the loop with `anyio.to_thread`, and the
hook hops back with `anyio.from_thread.run`. Called on the loop's own thread it would wait on
itself forever, so it refuses and says to `await parse()` instead."""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.from_thread
import anyio.lowlevel

from tunelab.engine.types import Constraint
from tunelab.rag.filters import Filters
from tunelab.tasks.model import TaskModel

T = TypeVar("T")

MAX_ENUM = 300  # distinct values above which a field is free text (a schema and a prompt that stay small)
MAX_LISTED = 30  # values spelled out in the prompt (each costs prefill); the schema still holds up to MAX_ENUM
MAX_QUERY_CHARS = 200

SYSTEM = ("You turn a shopper's question into a product search. Reply with JSON only: \"query\" holds the "
          "words to search for (what the product is and its features, without prices); \"category\" and "
          "\"brand\" are null unless the question clearly asks for one of the allowed values; \"price_min\" "
          "and \"price_max\" are numbers in the shop's currency, or null when the question sets no price.")
# No worked example in the prompt: small models copy an example's query instead of writing their own.
_WORD = re.compile(r"[a-z0-9]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NOT_A_QUERY = {"query", "question", "search", "null", "none"}


@dataclass
class SelfQueryResult:
    query: str  # what to search for (the question itself when the model gave nothing usable)
    filters: Filters
    raw: str = ""  # the model's reply
    notes: list[str] = field(default_factory=list)  # values dropped, and why

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query, "filters": self.filters.model_dump(exclude_none=True, exclude={"fields"}),
                "notes": list(self.notes)}


def collection_values(searcher: Any, name: str, limit: int = MAX_ENUM) -> list[str] | None:
    """The distinct values of metadata field `name` over a searcher's chunks (read from its BM25
    index, which lists every chunk's metadata: no vector store query), sorted; None when there are
    more than `limit` (then the field stays free text)."""
    values: set[str] = set()
    for hit in searcher.bm25_index.hits:
        value = hit.meta.get(name)
        if isinstance(value, str) and value.strip():
            values.add(value)
            if len(values) > limit:
                return None
    return sorted(values)


def _choice_schema(values: Sequence[str] | None) -> dict[str, Any]:
    if values:
        return {"enum": [*values, None]}
    return {"anyOf": [{"type": "string", "maxLength": 120}, {"type": "null"}]}


def self_query_schema(categories: Sequence[str] | None = None, brands: Sequence[str] | None = None) -> dict[str, Any]:
    """The JSON schema the model's reply is constrained to."""
    price = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "null"}]}
    return {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS},
            "category": _choice_schema(categories),
            "brand": _choice_schema(brands),
            "price_min": price,
            "price_max": price,
        },
        "required": ["query", "category", "brand", "price_min", "price_max"],
        "additionalProperties": False,
    }


def self_query_messages(question: str, categories: Sequence[str] | None = None,
                        brands: Sequence[str] | None = None) -> list[dict]:
    lines = []
    for label, values in (("Categories", categories), ("Brands", brands)):
        if values and len(values) <= MAX_LISTED:
            lines.append(f"{label}: " + "; ".join(values))
    allowed = ("\n".join(lines) + "\n\n") if lines else ""
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"{allowed}Question: {question.strip()}\nJSON:"}]


def _price(value: Any, name: str, notes: list[str]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        notes.append(f"{name} {value!r} is not a price; dropped")
        return None
    return float(value)


def _choice(value: Any, name: str, allowed: Sequence[str] | None, notes: list[str]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        notes.append(f"{name} {value!r} is not text; dropped")
        return None
    if allowed is not None and value not in allowed:  # an upstream that ignored the schema
        notes.append(f"{name} {value!r} is not in the collection; dropped")
        return None
    return value


def _words(text: str) -> set[str]:
    """Lower-case words with a plural 's' taken off (beds -> bed), for loose word matching."""
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in _WORD.findall(text.lower())}


def stated_in(question: str, field: str, value: Any) -> bool:
    """Whether the question states this filter value (see the module docstring)."""
    if field == "brand":
        return str(value).lower() in question.lower()
    if field in ("price_min", "price_max"):
        return any(float(n.replace(",", ".")) == float(value) for n in _NUMBER.findall(question))
    leaf = str(value).split(">")[-1]
    words = _words(question)
    return any(_words(part) and _words(part) <= words for part in [leaf, *leaf.split("&")])


def parse_self_query(raw: str, question: str, categories: Sequence[str] | None = None,
                     brands: Sequence[str] | None = None, *, grounded: bool = True) -> SelfQueryResult:
    """The reply as (query, filters). Never raises: a reply that is not the expected JSON searches
    the question itself with no filters, and every dropped value is noted. `grounded`: drop filters
    the question does not state."""
    notes: list[str] = []
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return SelfQueryResult(question, Filters(), raw, ["the reply is not a JSON object; searching the question"])
    query = data.get("query")
    if not isinstance(query, str) or not _WORD.search(query.lower()) or query.strip().lower() in _NOT_A_QUERY:
        notes.append("no query in the reply; searching the question")
        query = question
    elif grounded and not _words(query) & _words(question):
        notes.append(f"query {query!r} shares no word with the question; searching the question")
        query = question
    lo, hi = _price(data.get("price_min"), "price_min", notes), _price(data.get("price_max"), "price_max", notes)
    if lo is not None and hi is not None and lo > hi:
        notes.append(f"price_min {lo} is above price_max {hi}; swapped")
        lo, hi = hi, lo
    values = {"category": _choice(data.get("category"), "category", categories, notes),
              "brand": _choice(data.get("brand"), "brand", brands, notes), "price_min": lo, "price_max": hi}
    if grounded:
        for name, value in values.items():
            if value is not None and not stated_in(question, name, value):
                notes.append(f"{name} {value!r} is not stated in the question; dropped")
                values[name] = None
    return SelfQueryResult(query.strip(), Filters(**values), raw, notes)


def current_loop_token() -> Any:
    """The running event loop's anyio token (None outside a loop), for `run_from_worker` later."""

    try:
        return anyio.lowlevel.current_token()
    except RuntimeError:  # no event loop here
        return None


def run_from_worker(fn: Callable[..., Awaitable[T]], *args: Any, token: Any = None, what: str = "this") -> T:
    """Run coroutine function `fn` on the event loop from a worker thread (an `anyio.to_thread` one,
    or any thread when `token` names the loop). Refused on the loop's own thread (a deadlock)."""

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(f"{what} was called on the event loop's thread, where waiting for the model would block "
                           "the model itself; await its async method, or search in a worker thread "
                           "(anyio.to_thread.run_sync).")
    try:
        return anyio.from_thread.run(fn, *args, token=token)
    except anyio.NoEventLoopError as exc:
        raise RuntimeError(f"{what} needs the event loop its model runs on: create it inside that loop, or call "
                           "its async method.") from exc


class ModelSelfQuery:
    """The `SelfQuery` hook of `Searcher.search`, backed by a task model. `categories`/`brands`:
    the allowed values (None: free text)."""

    def __init__(self, model: TaskModel, *, categories: Sequence[str] | None = None,
                 brands: Sequence[str] | None = None, max_tokens: int = 160, grounded: bool = True) -> None:
        self.model, self.max_tokens, self.grounded = model, max_tokens, grounded
        self.categories = list(categories) if categories else None
        self.brands = list(brands) if brands else None
        self.constraint = Constraint(kind="json_schema", schema=self_query_schema(self.categories, self.brands))
        self._token = current_loop_token()  # the loop the model lives on, for calls from other threads
        self.last: SelfQueryResult | None = None  # what the latest call decided, for callers that show it

    @classmethod
    def for_searcher(cls, model: TaskModel, searcher: Any, **kw: Any) -> ModelSelfQuery:
        """Allowed categories and brands taken from the collection's own chunk metadata."""
        return cls(model, categories=collection_values(searcher, "category"),
                   brands=collection_values(searcher, "brand"), **kw)

    async def parse(self, question: str) -> SelfQueryResult:
        raw = await self.model.complete(self_query_messages(question, self.categories, self.brands),
                                        max_tokens=self.max_tokens, constraint=self.constraint)
        self.last = parse_self_query(raw, question, self.categories, self.brands, grounded=self.grounded)
        return self.last

    def __call__(self, question: str) -> tuple[str, Filters | None]:
        result = run_from_worker(self.parse, question, token=self._token, what="ModelSelfQuery")
        return result.query, result.filters
