"""Chat formats -> `ChatRecord`: alpaca (instruction/input/output, system, history) and message
lists (OpenAI ``messages`` with role/content, ShareGPT ``conversations`` with from/value, or any
LLaMA-Factory `Tags`). Pure functions of one raw record; they raise `FieldError`.

Turn rule (LLaMA-Factory's): an optional system message first, then turns alternate user-side
(user, tool result) and assistant-side (assistant, tool call); consecutive tool results count as
one turn. A conversation for SFT ends with an assistant turn; a preference prompt with a user turn.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from tunelab.data.errors import FieldError
from tunelab.data.fields import as_dict, as_list, optional_text, present, text, tools_text
from tunelab.data.mapping import NATIVE_ALPACA, Columns, Tags
from tunelab.data.records import ChatRecord, Message

Side = Literal["user", "assistant"]


def _side(message: Message) -> Side:
    return "assistant" if message.role == "assistant" else "user"


def _content(raw: dict[str, Any], where: str, tags: Tags, role: str) -> tuple[str, bool]:
    """(content, is_tool_call) of one raw message."""
    calls = raw.get("tool_calls")
    if role == "assistant" and isinstance(calls, list) and calls:  # OpenAI function calling
        return json.dumps([c.get("function", c) if isinstance(c, dict) else c for c in calls], ensure_ascii=False), True
    key = tags.content_tag or "content"
    value = raw.get(key)
    if isinstance(value, list):  # OpenAI content parts: keep the text ones
        if not all(isinstance(p, dict) and p.get("type") == "text" for p in value):
            raise FieldError(f"{where}.{key}", "only text content parts are supported")
        value = "".join(str(p.get("text", "")) for p in value)
    return text(value, f"{where}.{key}", allow_empty=role in ("tool", "system")), raw.get("tool_call") is True


def parse_message(raw: Any, where: str, tags: Tags) -> Message:
    """One message: `raw` is an object with the tags' role and content keys."""
    raw = as_dict(raw, where)
    role_key = tags.role_tag or "role"
    value = raw.get(role_key)
    if value is None:
        raise FieldError(f"{where}.{role_key}", "missing")
    roles = tags.roles()
    if value not in roles:
        known = ", ".join(repr(t) for t in roles)
        raise FieldError(f"{where}.{role_key}", f"unknown role {value!r} (expected one of {known})")
    role, is_call = roles[value]
    content, marked_call = _content(raw, where, tags, role)
    return Message(role=role, content=content, tool_call=is_call or (marked_call and role == "assistant"))


def parse_messages(
    raw: Any, field: str, tags: Tags, *, first: Side = "user", last: Side = "assistant", allow_system: bool = True
) -> list[Message]:
    """A message list checked against the turn rule, starting with a `first`-side turn and ending
    with a `last`-side one. A leading system message is kept (dropped when blank)."""
    items = as_list(raw, field)
    role_key = tags.role_tag or "role"
    out: list[Message] = []
    turn, prev = 0, None
    tag_of: list[Any] = []  # the role value as written, for messages
    for i, item in enumerate(items):
        item = as_dict(item, f"{field}[{i}]")
        tag_of.append(item.get(role_key))
        msg = parse_message(item, f"{field}[{i}]", tags)
        where = f"{field}[{i}].{role_key}"
        if msg.role == "system":
            if i != 0 or not allow_system:
                raise FieldError(where, "a system message is only allowed first")
            if msg.content.strip():
                out.append(msg)
            continue
        if not (msg.role == "tool" and prev is not None and prev.role == "tool"):
            expected: Side = first if turn % 2 == 0 else ("assistant" if first == "user" else "user")
            if _side(msg) != expected:
                roles = ("user", "tool") if expected == "user" else ("assistant",)
                allowed = " or ".join(repr(t) for t in tags.tags_for(*roles))
                raise FieldError(where, f"expected {allowed} here (turns alternate user and assistant), got {tag_of[i]!r}")
            turn += 1
        out.append(msg)
        prev = msg
    if prev is None:
        raise FieldError(field, "no user or assistant messages")
    if _side(prev) != last:
        wanted = " or ".join(repr(t) for t in tags.tags_for(*(("assistant",) if last == "assistant" else ("user", "tool"))))
        why = "" if last == "assistant" else " (the chosen and rejected answers follow it)"
        raise FieldError(field, f"must end with a {wanted} message{why}, but the last one is {tag_of[-1]!r}")
    return out


def with_system(messages: list[Message], system: str | None) -> list[Message]:
    """Prepend a system message from a column, unless the list already starts with one (which wins,
    as in LLaMA-Factory)."""
    if not system or (messages and messages[0].role == "system"):
        return messages
    return [Message(role="system", content=system), *messages]


def alpaca_prompt(row: dict[str, Any], cols: Columns) -> list[Message]:
    """System (if any) + history pairs + the user turn ``instruction\\ninput`` (either may be absent)."""
    out: list[Message] = []
    if present(row, cols.history):
        for i, pair in enumerate(as_list(row[cols.history], cols.history)):  # type: ignore[index,arg-type]
            where = f"{cols.history}[{i}]"
            pair = as_list(pair, where)
            if len(pair) != 2:
                raise FieldError(where, f"expected a [user, assistant] pair, got {len(pair)} items")
            out += [Message(role="user", content=text(pair[0], f"{where}[0]")),
                    Message(role="assistant", content=text(pair[1], f"{where}[1]"))]
    parts = []
    # The instruction may be left out when an input is given: {"input", "output"} records (the format
    # of QLoRA-style pipelines) are prompts without a separate instruction.
    if cols.prompt is not None and (cols.prompt in row or not present(row, cols.query)):
        parts.append(text(row.get(cols.prompt), cols.prompt, allow_empty=True))
    if present(row, cols.query):
        parts.append(text(row[cols.query], cols.query, allow_empty=True))  # type: ignore[index,arg-type]
    prompt = "\n".join(p for p in parts if p)
    if not prompt.strip():
        raise FieldError(cols.prompt or cols.query, "empty")
    out.append(Message(role="user", content=prompt))
    return with_system(out, optional_text(row, cols.system))


def parse_alpaca(row: dict[str, Any], cols: Columns = NATIVE_ALPACA) -> ChatRecord:
    """Alpaca record -> chat: [system], history turns, user ``instruction\\ninput``, assistant ``output``."""
    messages = alpaca_prompt(row, cols)
    answer = text(row.get(cols.response or "output"), cols.response or "output")
    return ChatRecord(messages=[*messages, Message(role="assistant", content=answer)], tools=tools_text(row, cols.tools))


def parse_chat(row: dict[str, Any], cols: Columns, tags: Tags) -> ChatRecord:
    """Message-list record (OpenAI or ShareGPT, per `tags`) -> chat; a system column is used
    when the list does not start with a system message."""
    key = cols.messages or "messages"
    messages = parse_messages(row.get(key), key, tags)
    return ChatRecord(messages=with_system(messages, optional_text(row, cols.system)), tools=tools_text(row, cols.tools))
