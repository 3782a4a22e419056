"""Preference pairs -> `PreferenceRecord`. Accepted shapes (one record each):

- plain text: ``{"prompt": str, "chosen": str, "rejected": str}``
- messages (TRL): ``{"prompt": [msgs], "chosen": [msgs], "rejected": [msgs]}``
- implicit prompt (TRL): ``{"chosen": [msgs], "rejected": [msgs]}``, the shared prefix is the prompt
- LLaMA-Factory alpaca ranking: ``{"instruction", "input"?, "system"?, "history"?, "chosen": str, "rejected": str}``
- LLaMA-Factory sharegpt ranking: ``{"conversations": [...ending with human], "chosen": {from, value}, "rejected": {...}}``
  (or ``messages`` with role/content)

Pure functions of one raw record; they raise `FieldError`.
"""

from __future__ import annotations

from typing import Any

from tunelab.data.chat import alpaca_prompt, parse_message, parse_messages, with_system
from tunelab.data.errors import FieldError
from tunelab.data.fields import optional_text, structured, text, tools_text
from tunelab.data.mapping import NATIVE_ALPACA, NATIVE_MESSAGES, NATIVE_SHAREGPT, Columns, Tags, guess_tags
from tunelab.data.records import Message, PreferenceRecord


def parse_answer(value: Any, field: str, tags: Tags) -> list[Message]:
    """A chosen or rejected answer: text, one message object, or a list of messages that starts
    and ends on the assistant side."""
    value = structured(value)
    if value is None or isinstance(value, str):
        return [Message(role="assistant", content=text(value, field))]
    if isinstance(value, dict):
        msg = parse_message(value, field, tags)
        if msg.role != "assistant":
            allowed = " or ".join(repr(t) for t in tags.tags_for("assistant"))
            raise FieldError(f"{field}.{tags.role_tag}", f"expected {allowed}, got a {msg.role} message")
        return [msg]
    return parse_messages(value, field, tags, first="assistant", last="assistant", allow_system=False)


def _pair(row: dict[str, Any], cols: Columns, tags: Tags) -> tuple[list[Message], list[Message]]:
    chosen_key, rejected_key = cols.chosen or "chosen", cols.rejected or "rejected"
    return parse_answer(row.get(chosen_key), chosen_key, tags), parse_answer(row.get(rejected_key), rejected_key, tags)


def alpaca_preference(row: dict[str, Any], cols: Columns = NATIVE_ALPACA) -> PreferenceRecord:
    """LLaMA-Factory alpaca ranking: the alpaca prompt, then chosen/rejected answers."""
    chosen, rejected = _pair(row, cols, guess_tags(structured(row.get(cols.chosen or "chosen"))))
    return PreferenceRecord(prompt=alpaca_prompt(row, cols), chosen=chosen, rejected=rejected, tools=tools_text(row, cols.tools))


def messages_preference(row: dict[str, Any], cols: Columns, tags: Tags) -> PreferenceRecord:
    """LLaMA-Factory sharegpt ranking: a conversation that ends with a user turn, then answers."""
    key = cols.messages or "conversations"
    prompt = with_system(parse_messages(row.get(key), key, tags, last="user"), optional_text(row, cols.system))
    chosen, rejected = _pair(row, cols, tags)
    return PreferenceRecord(prompt=prompt, chosen=chosen, rejected=rejected, tools=tools_text(row, cols.tools))


def _implicit(row: dict[str, Any]) -> PreferenceRecord:
    """TRL's implicit prompt: chosen and rejected are whole conversations sharing a prompt prefix."""
    tags = guess_tags(structured(row.get("chosen")))
    chosen = parse_messages(row.get("chosen"), "chosen", tags)
    rejected = parse_messages(row.get("rejected"), "rejected", tags)
    if chosen == rejected:
        raise FieldError("rejected", "chosen and rejected are the same conversation")
    shared = 0
    while shared < min(len(chosen), len(rejected)) and chosen[shared] == rejected[shared]:
        shared += 1
    while shared and chosen[shared - 1].role not in ("user", "tool"):  # the prompt ends on the user side
        shared -= 1
    if shared == 0:
        raise FieldError("chosen", "chosen and rejected share no prompt; give a 'prompt' field")
    return PreferenceRecord(prompt=chosen[:shared], chosen=chosen[shared:], rejected=rejected[shared:], tools=tools_text(row, "tools"))


def parse_preference(row: dict[str, Any]) -> PreferenceRecord:
    """Any of the shapes in this module's docstring, told apart by the record's keys."""
    if row.get("prompt") is not None:
        value = structured(row["prompt"])
        if isinstance(value, str):
            prompt = [Message(role="user", content=text(value, "prompt"))]
            tags = guess_tags(structured(row.get("chosen")))
        else:
            tags = guess_tags(value)
            prompt = parse_messages(value, "prompt", tags, last="user")
        prompt = with_system(prompt, optional_text(row, "system"))
        chosen, rejected = _pair(row, NATIVE_ALPACA, tags)
        return PreferenceRecord(prompt=prompt, chosen=chosen, rejected=rejected, tools=tools_text(row, "tools"))
    if "instruction" in row:
        return alpaca_preference(row, NATIVE_ALPACA)
    if "conversations" in row:
        return messages_preference(row, NATIVE_SHAREGPT, guess_tags(structured(row["conversations"])))
    if "messages" in row:
        return messages_preference(row, NATIVE_MESSAGES, guess_tags(structured(row["messages"])))
    return _implicit(row)
