"""Feedback on answers, as the chat playground (or any API client) records it: the prompt as chat
messages, one to four answers ({model, adapter, text}), and a rating (+1/-1) of one of them, an edit
of it into a better answer, or the better of side-by-side answers. `add_feedback` checks a record
(bad input raises `FeedbackError` naming the field) and stores it; `list_feedback`, `get_feedback`
and `delete_feedback` read them back, only one owner's when `visible_to` names one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from tunelab.store import FEEDBACK, Feedback, Store, UnknownNameError

ROLES = ("system", "user", "assistant", "tool")
MAX_ANSWERS = 4  # side by side: two to four models answer the same prompt
NAME_MAX = 128  # model and adapter names, conversation ids (the store's column widths)
SOURCE_MAX = 32


class FeedbackError(ValueError):
    """A feedback record that cannot be stored or used; `field` names where (a 400 over HTTP)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownFeedbackError(UnknownNameError):
    kind = "feedback record"
    template = "No {kind} '{name}' (tunelab feedback list shows them)."

    def __init__(self, name: str) -> None:
        super().__init__(name, ())


@dataclass(frozen=True)
class Answer:
    """One answer to the prompt: the model that gave it (a base model or upstream model name), the
    adapter on that model (None: the model itself) and its text."""

    model: str
    adapter: str | None
    text: str


@dataclass(frozen=True)
class FeedbackInfo:
    id: str
    created_at: datetime
    owner: str | None  # the API key that posted it; None: the local caller
    messages: list[dict]  # the prompt: {role, content}, ending with the user's turn
    answers: list[Answer]
    answer_index: int  # the answer `rating` and `edit` are about
    rating: int | None  # +1 | -1
    edit: str | None  # the user's better version of answers[answer_index]
    choice: int | None  # the index of the better answer, side by side
    source: str
    conversation_id: str | None
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat() if self.created_at else None
        return d


def new_feedback_id() -> str:
    return "fb-" + uuid.uuid4().hex[:12]


def _text(value: Any, field: str, *, empty: bool = True, most: int | None = None) -> str:
    if not isinstance(value, str):
        raise FeedbackError(f"{field}: expected text, got {type(value).__name__}", field)
    if not empty and not value.strip():
        raise FeedbackError(f"{field}: must not be empty", field)
    if most is not None and len(value) > most:
        raise FeedbackError(f"{field}: at most {most} characters, got {len(value)}", field)
    return value


def _index(value: Any, field: str, n: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
        raise FeedbackError(f"{field}: an answer index from 0 to {n - 1}, got {value!r}", field)
    return value


def check_messages(messages: Any) -> list[dict]:
    """The prompt as {role, content} dicts; it must end with the user's turn (what was answered)."""
    if not isinstance(messages, list) or not messages:
        raise FeedbackError("messages: the prompt as a non-empty list of chat messages", "messages")
    out = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise FeedbackError(f"{where}: expected a message object {{role, content}}", where)
        if m.get("role") not in ROLES:
            raise FeedbackError(f"{where}.role: one of {', '.join(ROLES)}, got {m.get('role')!r}", f"{where}.role")
        out.append({"role": m["role"], "content": _text(m.get("content"), f"{where}.content")})
    if out[-1]["role"] != "user":
        raise FeedbackError(f"messages: the prompt must end with the user's turn (the one answered), not a "
                            f"{out[-1]['role']} message", f"messages[{len(out) - 1}].role")
    return out


def check_answers(answers: Any) -> list[Answer]:
    if not isinstance(answers, list) or not 1 <= len(answers) <= MAX_ANSWERS:
        raise FeedbackError(f"answers: a list of 1 to {MAX_ANSWERS} answers {{model, adapter, text}}", "answers")
    out = []
    for i, a in enumerate(answers):
        where = f"answers[{i}]"
        if not isinstance(a, dict):
            raise FeedbackError(f"{where}: expected an answer object {{model, adapter, text}}", where)
        adapter = a.get("adapter")
        out.append(Answer(model=_text(a.get("model"), f"{where}.model", empty=False, most=NAME_MAX),
                          adapter=None if adapter is None else _text(adapter, f"{where}.adapter", empty=False,
                                                                     most=NAME_MAX),
                          text=_text(a.get("text"), f"{where}.text")))
    return out


def check_judgement(answers: list[Answer], *, rating: Any, answer_index: Any, edit: Any, choice: Any) -> None:
    """A rating, an edit or a choice (at least one), each pointing at an answer that exists."""
    if rating is None and edit is None and choice is None:
        raise FeedbackError("Give a rating (+1 or -1), an edit of the answer, or the choice of the better answer.",
                            "rating")
    index = _index(answer_index, "answer_index", len(answers))
    if rating is not None and (isinstance(rating, bool) or rating not in (1, -1)):
        raise FeedbackError(f"rating: +1 (good) or -1 (bad), got {rating!r}", "rating")
    if edit is not None:
        _text(edit, "edit", empty=False)
        if edit.strip() == answers[index].text.strip():
            raise FeedbackError(f"edit: the same text as answers[{index}]; an edit is the better answer", "edit")
    if choice is not None:
        if len(answers) < 2:
            raise FeedbackError("choice: picks the better of two or more answers; this record has one", "choice")
        _index(choice, "choice", len(answers))


def _info(row: Feedback) -> FeedbackInfo:
    created = row.created_at
    if created is not None and created.tzinfo is None:  # SQLite gives back the UTC time it was given, naive
        created = created.replace(tzinfo=UTC)
    return FeedbackInfo(
        id=row.id, created_at=created, owner=row.owner, messages=list(row.messages or []),
        answers=[Answer(a["model"], a.get("adapter"), a["text"]) for a in row.answers or []],
        answer_index=row.answer_index or 0, rating=row.rating, edit=row.edit, choice=row.choice, source=row.source,
        conversation_id=row.conversation_id, note=row.note)


def add_feedback(store: Store, messages: Any, answers: Any, *, owner: str | None = None, rating: Any = None,
                 answer_index: Any = 0, edit: Any = None, choice: Any = None, source: str = "playground",
                 conversation_id: str | None = None, note: str | None = None) -> FeedbackInfo:
    """Check and store one record; FeedbackError (naming the field) for bad input, nothing stored."""
    prompt, given = check_messages(messages), check_answers(answers)
    check_judgement(given, rating=rating, answer_index=answer_index, edit=edit, choice=choice)
    _text(source, "source", empty=False, most=SOURCE_MAX)
    if conversation_id is not None:
        _text(conversation_id, "conversation_id", empty=False, most=NAME_MAX)
    if note is not None:
        _text(note, "note")
    row = FEEDBACK.add(store, new_feedback_id(), owner=owner, messages=prompt, answers=[asdict(a) for a in given],
                       answer_index=answer_index, rating=rating, edit=edit, choice=choice, source=source,
                       conversation_id=conversation_id, note=note)
    return _info(row)


def list_feedback(store: Store, *, visible_to: str | None = None, model: str | None = None,
                  adapter: str | None = None, ids: list[str] | None = None, limit: int | None = 50,
                  offset: int = 0) -> tuple[list[FeedbackInfo], int]:
    """Records newest first, and how many match. `visible_to`: a key's name to see only its records
    (None: every record, as the local caller and admin keys do); `model`/`adapter`: records with an
    answer from it; `limit` None: all."""
    rows, total = FEEDBACK.page(store, owner=visible_to, model=model, adapter=adapter, ids=ids, limit=limit,
                                offset=offset)
    return [_info(r) for r in rows], total


def get_feedback(store: Store, feedback_id: str, *, visible_to: str | None = None) -> FeedbackInfo:
    row = FEEDBACK.by_key(store, feedback_id)
    if row is None or (visible_to is not None and row.owner != visible_to):
        raise UnknownFeedbackError(feedback_id)  # another key's record is not there for this one
    return _info(row)


def delete_feedback(store: Store, feedback_id: str, *, visible_to: str | None = None) -> FeedbackInfo:
    info = get_feedback(store, feedback_id, visible_to=visible_to)
    FEEDBACK.remove(store, feedback_id)
    return info


def feedback_jsonl(items: Iterable[FeedbackInfo]) -> str:
    """One JSON object per record and line (the fields of `FeedbackInfo.to_dict`), UTF-8 kept."""
    return "".join(json.dumps(i.to_dict(), ensure_ascii=False) + "\n" for i in items)
