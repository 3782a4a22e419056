"""[EXTRACT]: a product text + an attribute spec -> a JSON object with every attribute, a value of its
type or null. Decoding is constrained by `attribute_json_schema(spec)`, so a local model's reply
always validates; a reply that does not (an upstream that ignores the schema) keeps the attributes
that are valid, nulls the rest and reports `valid=False` (all null when it is not JSON at all)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tunelab.engine.types import Constraint
from tunelab.tasks.ecommerce.attributes import (
    AttributeSpec,
    attribute_json_schema,
    null_values,
    parse_attribute_spec,
    validate_values,
)
from tunelab.tasks.ecommerce.prompts import extract_messages, reply_json
from tunelab.tasks.model import TaskModel

DEFAULT_CONCURRENCY = 32
CLOSE_ROOM = 16  # tokens beyond the all-null reply, so the engine can still close an open value in time


@dataclass(frozen=True)
class Extraction:
    """`values`: attribute -> value or None, in spec order, always valid for the spec; `valid`: the
    model's reply itself validated; `raw`: the reply as written."""

    values: dict[str, Any]
    valid: bool
    raw: str


def _json_object(raw: str) -> Any:
    """The reply as JSON; for an unconstrained model, also the first {...} in it (code fences, prose)."""
    try:
        return json.loads(raw)
    except ValueError:
        pass
    match = re.search(r"\{.*\}", raw, flags=re.DOTALL)
    if match:
        try:
            return json.loads(match.group(0))
        except ValueError:
            return None
    return None


def parse_extraction(raw: str, spec: AttributeSpec) -> Extraction:
    """Read a model's reply: valid attributes kept, invalid or missing ones null."""
    parsed = _json_object(raw)
    if not isinstance(parsed, dict):
        return Extraction(values=null_values(spec), valid=False, raw=raw)
    valid = not validate_values(parsed, spec)
    values = {}
    for name in spec:
        value = parsed.get(name)
        if validate_values({name: value}, {name: spec[name]}):
            value = None
        elif spec[name] == "integer" and isinstance(value, float):
            value = int(value)
        values[name] = value
    return Extraction(values=values, valid=valid, raw=raw)


def _spec(attributes: Any, record_id: str | None) -> AttributeSpec:
    where = f"record {record_id!r}" if record_id is not None else "request"
    return parse_attribute_spec(attributes, where=where)


def _check_text(text: str, record_id: str | None) -> None:
    if not isinstance(text, str) or not text.strip():
        where = f"record {record_id!r}" if record_id is not None else "the request"
        raise ValueError(f"Empty product text in {where}: give the listing text to extract attributes from.")


async def _extract(model: TaskModel, text: str, spec: AttributeSpec, max_tokens: int) -> Extraction:
    constraint = Constraint(kind="json_schema", schema=attribute_json_schema(spec))
    # The all-null reply is the shortest valid one; a budget below it could only end in broken JSON.
    budget = max(max_tokens, len(reply_json(null_values(spec))) + CLOSE_ROOM)
    raw = await model.complete(extract_messages(text, spec), max_tokens=budget, constraint=constraint)
    return parse_extraction(raw, spec)


async def extract(model: TaskModel, text: str, attributes: AttributeSpec | Any, *, max_tokens: int = 160,
                  record_id: str | None = None) -> Extraction:
    """Extract `attributes` (an AttributeSpec, or anything `parse_attribute_spec` reads) from `text`.
    `max_tokens` is raised to what the all-null reply needs when it is smaller. Raises ValueError on an
    empty text and AttributeSchemaError on a bad spec, both naming `record_id`."""
    _check_text(text, record_id)
    return await _extract(model, text, _spec(attributes, record_id), max_tokens)


async def extract_many(model: TaskModel, texts: Sequence[str], attributes: AttributeSpec | Any | Sequence[Any], *,
                       max_tokens: int = 160, record_ids: Sequence[str] | None = None,
                       concurrency: int = DEFAULT_CONCURRENCY) -> list[Extraction]:
    """`extract` for many texts, in order, up to `concurrency` at once. `attributes`: one spec for all
    texts, or a list with one spec per text. Every text and spec is checked before any model call."""
    if record_ids is not None and len(record_ids) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(record_ids)} record ids.")
    ids = list(record_ids) if record_ids is not None else [str(i) for i in range(len(texts))]
    # a list of names is one spec; a list of specs (dicts or lists of names) is one per text
    per_text = isinstance(attributes, (list, tuple)) and len(attributes) > 0 and all(
        isinstance(a, (dict, list, tuple)) for a in attributes)
    if per_text and len(attributes) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(attributes)} attribute specs.")
    specs = [_spec(a, rid) for a, rid in zip(attributes, ids)] if per_text else \
        [_spec(attributes, None)] * len(texts)
    for text, rid in zip(texts, ids):
        _check_text(text, rid)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(text: str, spec: AttributeSpec) -> Extraction:
        async with gate:
            return await _extract(model, text, spec, max_tokens)

    return list(await asyncio.gather(*(one(t, s) for t, s in zip(texts, specs))))
