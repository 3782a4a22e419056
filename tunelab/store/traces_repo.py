"""Request traces (`traces`): add one and prune to the retention limits in the same transaction,
page through them newest first (filtered by model, adapter, caller, kind), get one by id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from tunelab.store.db import Store
from tunelab.store.monitoring_tables import Trace
from tunelab.store.repo import Rows

# The deleted rows are not in this session (only the new one is): no matching them up in Python,
# which would compare SQLite's naive datetimes with aware ones.
NO_SYNC = {"execution_options": {"synchronize_session": False}}


class TracesRows(Rows[Trace]):
    def add_pruned(self, store: Store, *, max_rows: int | None, older_than: datetime | None,
                   **values: Any) -> tuple[Trace, int]:
        """Insert a trace, then delete those older than `older_than` and all but the newest `max_rows`
        (None: no limit); returns the row and how many were pruned."""
        row = Trace(**values)
        pruned = 0
        with store.session(immediate=True) as s:
            s.add(row)
            s.flush()
            if older_than is not None:
                pruned += s.execute(delete(Trace).where(Trace.created_at < older_than), **NO_SYNC).rowcount or 0
            if max_rows is not None:  # the newest beyond the limit, and everything older than it
                first_out = s.execute(select(Trace.created_at, Trace.id).order_by(Trace.created_at.desc(), Trace.id.desc())
                                      .offset(max_rows).limit(1)).first()
                if first_out is not None:
                    at, key = first_out
                    gone = (Trace.created_at < at) | ((Trace.created_at == at) & (Trace.id <= key))
                    pruned += s.execute(delete(Trace).where(gone), **NO_SYNC).rowcount or 0
        return row, pruned

    def page(self, store: Store, *, limit: int | None = 50, offset: int = 0,
             **equal: Any) -> tuple[list[Trace], int]:
        """Traces newest first and how many match in all; `equal`: column -> value (None: any)."""
        query = select(Trace)
        for column, value in equal.items():
            if value is not None:
                query = query.where(getattr(Trace, column) == value)
        with store.session() as s:
            total = s.scalar(select(func.count()).select_from(query.subquery()))
            ordered = query.order_by(Trace.created_at.desc(), Trace.id.desc()).offset(offset)
            return list(s.scalars(ordered.limit(limit) if limit is not None else ordered)), int(total or 0)


TRACES = TracesRows(Trace)
