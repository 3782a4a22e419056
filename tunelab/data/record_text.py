"""The texts of a record that quality filters and duplicate checks read: `question_answer(record)` is
(the last user turn, the reply to it): for a preference pair the chosen reply, for a [QA] record (a
question over numbered sources, answered as JSON) the question and the answer inside the JSON; a
classification or text record has no question. `full_text(record)` is every string in it."""

from __future__ import annotations

import json

from tunelab.data.records import ChatRecord, Message, PreferenceRecord, Record

QA_QUESTION = "\n\nQuestion: "  # where the question starts in a [QA] prompt (tunelab.tasks.ecommerce.prompts)


def _last(messages: list[Message], role: str) -> str:
    return next((m.content for m in reversed(messages) if m.role == role), "")


def _qa_question(text: str) -> str:
    if text.startswith("[QA]") and QA_QUESTION in text:
        return text.rsplit(QA_QUESTION, 1)[1]
    return text


def _qa_answer(text: str) -> str:
    """A [QA] reply's "answer"; any other text as it is."""
    if not text.lstrip().startswith("{"):
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return text
    return data["answer"] if isinstance(data, dict) and isinstance(data.get("answer"), str) else text


def question_answer(record: Record) -> tuple[str, str]:
    if isinstance(record, ChatRecord):
        turns = record.messages
        last_reply = max((i for i, m in enumerate(turns) if m.role == "assistant"), default=len(turns))
        return _qa_question(_last(turns[:last_reply], "user")), _qa_answer(_last(turns, "assistant"))
    if isinstance(record, PreferenceRecord):
        return _qa_question(_last(record.prompt, "user")), _qa_answer(_last(record.chosen, "assistant"))
    return "", record.text


def full_text(record: Record) -> str:
    """Every message, prompt and answer of the record, one per line (what decontamination scans)."""
    if isinstance(record, ChatRecord):
        parts = [m.content for m in record.messages]
    elif isinstance(record, PreferenceRecord):
        parts = [m.content for m in (*record.prompt, *record.chosen, *record.rejected)]
    else:
        parts = [record.text]
    return "\n".join(parts)
