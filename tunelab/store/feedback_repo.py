"""Feedback on answers (`feedback`, indexed by who answered in `feedback_answers`): add a record
with its answer index in one transaction, page through them newest first filtered by owner, model,
adapter or ids, delete one. Callers pass the Store and plain values and get detached rows back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, func, select

from tunelab.store.db import Store
from tunelab.store.repo import Rows
from tunelab.store.tables import Feedback, FeedbackAnswer


class FeedbackRows(Rows[Feedback]):
    def add(self, store: Store, feedback_id: str, **values: Any) -> Feedback:
        """A new record; `values["answers"]` (a list of {model, adapter, text}) is indexed as well."""
        row = Feedback(id=feedback_id, **values)
        with store.session() as s:
            s.add(row)
            s.flush()  # the record first: the index rows point at it
            s.add_all(FeedbackAnswer(feedback_id=feedback_id, position=i, model=a["model"], adapter=a.get("adapter"))
                      for i, a in enumerate(values.get("answers") or []))
        return row

    def page(self, store: Store, *, owner: str | None = None, model: str | None = None, adapter: str | None = None,
             ids: list[str] | None = None, limit: int | None = 50, offset: int = 0) -> tuple[list[Feedback], int]:
        """Records newest first and how many match in all. `owner`: that owner's only (None: everyone's);
        `model`, `adapter`: records with an answer from that model / adapter (both: from one answer
        that has both); `ids`: only these; `limit` None: every match."""
        query = select(Feedback)
        if owner is not None:
            query = query.where(Feedback.owner == owner)
        if ids is not None:
            query = query.where(Feedback.id.in_(ids))
        if model is not None or adapter is not None:
            answered = exists().where(FeedbackAnswer.feedback_id == Feedback.id)
            if model is not None:
                answered = answered.where(FeedbackAnswer.model == model)
            if adapter is not None:
                answered = answered.where(FeedbackAnswer.adapter == adapter)
            query = query.where(answered)
        with store.session() as s:
            total = s.scalar(select(func.count()).select_from(query.subquery()))
            ordered = query.order_by(Feedback.created_at.desc(), Feedback.id.desc()).offset(offset)
            rows = s.scalars(ordered.limit(limit) if limit is not None else ordered)
            return list(rows), int(total or 0)

    def remove(self, store: Store, feedback_id: str) -> Feedback | None:
        """Delete the record (and its answer index); returns it, or None when there is none."""
        with store.session(immediate=True) as s:
            row = s.get(Feedback, feedback_id)
            if row is not None:
                # The index rows first, in this statement: not left to ON DELETE CASCADE being enforced.
                s.execute(delete(FeedbackAnswer).where(FeedbackAnswer.feedback_id == feedback_id))
                s.delete(row)
            return row


FEEDBACK = FeedbackRows(Feedback)
