"""The chats a generator model answers, and the JSON schemas its replies are held to.

Each record takes two or three constrained calls: a question (or instruction) written from one chunk,
sampled so that chunks asked twice give different questions; its answer from that chunk only, at
temperature 0; for a preference pair, the rejected answer from a weaker setting. Every reply is JSON
of a small schema, so it always parses (`read_field`)."""

from __future__ import annotations

import json
import re

from tunelab.datagen.sources import SourceChunk
from tunelab.engine.types import Constraint

WRITER = "You write training data for an assistant from documents. Reply with the requested JSON only."
ANSWERER = "You are a helpful assistant. Reply with the requested JSON only."
MAX_QUESTION_CHARS = 400
JSON_ROOM = 16  # tokens for the JSON around a reply's text ({"response": "..."}), on top of its budget

_ASK = {
    "instruction": ("an instruction or a question a user could give an assistant, that the document answers. It must "
                    "make sense without the document: name the product, policy or topic it is about"),
    "qa": ("a question a user could ask about the document, that the document answers. Name the product, policy "
           "or topic it is about"),
}
_KEY = {"instruction": "instruction", "qa": "question"}


def _field_schema(key: str, *, max_length: int | None = None) -> dict:
    value: dict = {"type": "string", "minLength": 1}
    if max_length is not None:
        value["maxLength"] = max_length
    return {"type": "object", "properties": {key: value}, "required": [key], "additionalProperties": False}


def question_key(kind: str) -> str:
    return _KEY["qa" if kind == "qa" else "instruction"]


def question_constraint(kind: str) -> Constraint:
    return Constraint(kind="json_schema", schema=_field_schema(question_key(kind), max_length=MAX_QUESTION_CHARS))


ANSWER_CONSTRAINT = Constraint(kind="json_schema", schema=_field_schema("response"))


def _document(chunk: SourceChunk) -> str:
    title, section = chunk.title or "", chunk.section or ""
    head = section if section.startswith(title) else f"{title} > {section}" if section else title
    return (f"Document ({head}):\n" if head else "Document:\n") + chunk.text.strip()


def question_messages(kind: str, chunk: SourceChunk) -> list[dict]:
    key = question_key(kind)
    ask = _ASK["qa" if kind == "qa" else "instruction"]
    return [{"role": "system", "content": WRITER},
            {"role": "user", "content": f"{_document(chunk)}\n\nWrite {ask}. Reply as JSON: "
                                        f'{{"{key}": "..."}}'}]


def answer_messages(question: str, chunk: SourceChunk | None) -> list[dict]:
    """The answer to `question` from `chunk` only; without a chunk (a rejected answer), from memory."""
    if chunk is None:
        user = f"{question.strip()}\n\nReply as JSON: {{\"response\": \"...\"}}"
    else:
        user = (f"{_document(chunk)}\n\nUsing only the document above, respond to: {question.strip()}\n\n"
                'Reply as JSON: {"response": "..."}')
    return [{"role": "system", "content": ANSWERER}, {"role": "user", "content": user}]


def read_field(raw: str, key: str) -> str:
    """The string `key` of a constrained reply, stripped. A reply that is not JSON (an upstream that
    ignores the schema) is taken as the text itself; JSON without the key, or cut short, gives ''."""
    try:
        data = json.loads(raw)
    except ValueError:
        return "" if raw.lstrip().startswith("{") else raw.strip()
    value = data.get(key) if isinstance(data, dict) else None
    # JSON may spell a lone UTF-16 surrogate (\ud800); it cannot be written as UTF-8, so it becomes U+FFFD
    return _SURROGATE.sub("\ufffd", value).strip() if isinstance(value, str) else ""


_SURROGATE = re.compile("[\ud800-\udfff]")
