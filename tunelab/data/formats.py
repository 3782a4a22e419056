"""The dataset formats TuneLab reads, by name, and auto-detection from a record's keys.

=============== ========================================================== =====================
format          keys of one record                                          record type
=============== ========================================================== =====================
alpaca          instruction and/or input, output, system?, history?         ChatRecord
messages        messages: [{role, content}] (system/user/assistant/tool)    ChatRecord
sharegpt        conversations: [{from, value}] (human/gpt/system/...)        ChatRecord
preference      chosen, rejected (+ prompt / instruction / conversations)   PreferenceRecord
classification  text, label                                                 ClassificationRecord
text            text                                                        TextRecord
=============== ========================================================== =====================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tunelab.data.chat import parse_alpaca, parse_chat
from tunelab.data.errors import FieldError
from tunelab.data.fields import describe, text
from tunelab.data.mapping import NATIVE_ALPACA, NATIVE_MESSAGES, NATIVE_SHAREGPT, OPENAI_TAGS, SHAREGPT_TAGS
from tunelab.data.preference import parse_preference
from tunelab.data.records import ClassificationRecord, Record, TextRecord

Parser = Callable[[dict[str, Any]], Record]


def parse_classification(row: dict[str, Any]) -> ClassificationRecord:
    """``text`` (non-blank) and ``label``: a non-blank string or an integer class id."""
    label = row.get("label")
    if isinstance(label, float) and label.is_integer():  # integer ids read back as floats (pandas, NaN-able columns)
        label = int(label)
    if label is None:
        raise FieldError("label", "missing")
    if isinstance(label, bool) or not isinstance(label, (str, int)):
        raise FieldError("label", f"expected a string or an integer, got {describe(label)}")
    if isinstance(label, str) and not label.strip():
        raise FieldError("label", "empty")
    return ClassificationRecord(text=text(row.get("text"), "text"), label=label)


def parse_text(row: dict[str, Any]) -> TextRecord:
    """``text``, non-blank."""
    return TextRecord(text=text(row.get("text"), "text"))


PARSERS: dict[str, Parser] = {
    "alpaca": lambda row: parse_alpaca(row, NATIVE_ALPACA),
    "messages": lambda row: parse_chat(row, NATIVE_MESSAGES, OPENAI_TAGS),
    "sharegpt": lambda row: parse_chat(row, NATIVE_SHAREGPT, SHAREGPT_TAGS),
    "preference": parse_preference,
    "classification": parse_classification,
    "text": parse_text,
}
FORMATS: tuple[str, ...] = tuple(PARSERS)


def detect_format(row: dict[str, Any]) -> str:
    """The format a record's keys say, checked in this order: chosen+rejected -> preference;
    messages; conversations -> sharegpt; instruction or output -> alpaca; text+label ->
    classification; text. Raises FieldError naming the keys it saw when none fits."""
    keys = set(row)
    if {"chosen", "rejected"} <= keys:
        return "preference"
    if "messages" in keys:
        return "messages"
    if "conversations" in keys:
        return "sharegpt"
    if "instruction" in keys or "output" in keys:
        return "alpaca"
    if "text" in keys:
        return "classification" if "label" in keys else "text"
    seen = ", ".join(repr(k) for k in row) or "none"
    raise FieldError(
        None,
        f"cannot tell the dataset format from the keys {seen}; expected instruction/output (alpaca), "
        "messages, conversations (sharegpt), chosen/rejected (preference), text/label (classification) "
        "or text; or name the format explicitly (--format)",
    )


def get_parser(name: str) -> Parser:
    """The parser for a format name; ValueError listing the known formats otherwise."""
    try:
        return PARSERS[name]
    except KeyError:
        raise ValueError(f"Unknown dataset format '{name}'. Known formats: {', '.join(FORMATS)}") from None
