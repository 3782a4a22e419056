"""Typed records every dataset format is normalised into: chat (alpaca, OpenAI messages, ShareGPT),
preference pairs, classification and plain text. Records are immutable; `record_to_row` gives the
JSON row TuneLab writes for a record (which loads back to an equal record), `canonical_dict` the
form that hashing and dedup use.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Role = Literal["system", "user", "assistant", "tool"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Message(_Frozen):
    """One chat turn. `tool_call` marks an assistant turn whose content is a function call (JSON),
    e.g. ShareGPT's ``function_call`` or an OpenAI assistant message with ``tool_calls``; a `tool`
    turn is the function's result (ShareGPT's ``observation``)."""

    role: Role
    content: str
    tool_call: bool = False


class ChatRecord(_Frozen):
    """A conversation for supervised fine-tuning: an optional leading system message, then turns
    that alternate user (or tool results) and assistant, ending with an assistant turn.
    `tools` is the tool description (a JSON string) when the conversation uses tools."""

    kind: Literal["chat"] = "chat"
    messages: list[Message]
    tools: str | None = None

    @property
    def system(self) -> str | None:
        return self.messages[0].content if self.messages and self.messages[0].role == "system" else None


class PreferenceRecord(_Frozen):
    """A preference pair for DPO/reward modelling: `prompt` ends with a user turn; `chosen` and
    `rejected` are the assistant continuations (usually one message each). Plain-text prompts
    become one user message, plain-text answers one assistant message."""

    kind: Literal["preference"] = "preference"
    prompt: list[Message]
    chosen: list[Message]
    rejected: list[Message]
    tools: str | None = None


class ClassificationRecord(_Frozen):
    """A text with its label (a class name or an integer class id)."""

    kind: Literal["classification"] = "classification"
    text: str
    label: str | int


class TextRecord(_Frozen):
    """Plain text, for continued pre-training."""

    kind: Literal["text"] = "text"
    text: str


Record = Annotated[ChatRecord | PreferenceRecord | ClassificationRecord | TextRecord, Field(discriminator="kind")]
_RECORD = TypeAdapter(Record)


def record_to_row(record: Record) -> dict[str, Any]:
    """The JSON row for a record in TuneLab's own formats (``messages``; ``prompt``/``chosen``/
    ``rejected``; ``text``/``label``; ``text``), defaults left out. Loading it back gives an equal record."""
    row = record.model_dump(mode="json", exclude_defaults=True)
    row.pop("kind", None)
    return row


def canonical_dict(record: Record) -> dict[str, Any]:
    """`record_to_row` plus the record's ``kind``: what hashing and dedup compare."""
    return {"kind": record.kind, **record_to_row(record)}


def record_from_dict(data: dict[str, Any]) -> Record:
    """Inverse of `canonical_dict` (strict: raises pydantic's ValidationError on a bad dict)."""
    return _RECORD.validate_python(data)


def user(content: str) -> Message:
    return Message(role="user", content=content)


def assistant(content: str) -> Message:
    return Message(role="assistant", content=content)


def system(content: str) -> Message:
    return Message(role="system", content=content)
