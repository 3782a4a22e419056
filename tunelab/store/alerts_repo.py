"""Scheduled evaluations (`eval_schedules`), their results (`schedule_results`) and the alerts the
results raise (`alerts`). A result and its alerts are written in one transaction, which also
resolves the schedule's earlier alerts when the new result raised none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from tunelab.store.db import Store
from tunelab.store.monitoring_tables import Alert, EvalSchedule, ScheduleResult
from tunelab.store.repo import Rows
from tunelab.store.tables import utcnow


class SchedulesRows(Rows[EvalSchedule]):
    def all(self, store: Store) -> list[EvalSchedule]:
        with store.session() as s:
            return list(s.scalars(select(EvalSchedule).order_by(EvalSchedule.name)))

    def due(self, store: Store, now: datetime) -> list[EvalSchedule]:
        """Schedules whose next run is now or past (or never set)."""
        with store.session() as s:
            q = select(EvalSchedule).where((EvalSchedule.next_run_at.is_(None)) | (EvalSchedule.next_run_at <= now))
            return list(s.scalars(q.order_by(EvalSchedule.name)))

    def claim_due(self, store: Store, now: datetime, next_of: Callable[[EvalSchedule], datetime]) -> list[EvalSchedule]:
        """The due schedules, each with its next run moved to `next_of(row)` in the same write
        transaction: two workers polling at once never both queue one schedule."""
        with store.session(immediate=True) as s:
            q = select(EvalSchedule).where((EvalSchedule.next_run_at.is_(None)) | (EvalSchedule.next_run_at <= now))
            rows = list(s.scalars(q.order_by(EvalSchedule.name).with_for_update(skip_locked=True)))
            for row in rows:
                row.next_run_at = next_of(row)
            return rows

    def remove(self, store: Store, name: str) -> EvalSchedule | None:
        """Delete the schedule with its results and alerts (children first: not left to the cascade)."""
        with store.session(immediate=True) as s:
            row = s.get(EvalSchedule, name)
            if row is not None:
                s.query(Alert).filter(Alert.schedule == name).delete()
                s.query(ScheduleResult).filter(ScheduleResult.schedule == name).delete()
                s.delete(row)
            return row


class ResultsRows(Rows[ScheduleResult]):
    def record(self, store: Store, alerts: list[dict[str, Any]], **values: Any) -> tuple[ScheduleResult, list[Alert]]:
        """Store a result and its alerts ({reason, metric, message}); when it has none, the schedule's
        firing alerts resolve."""
        row = ScheduleResult(**values)
        with store.session(immediate=True) as s:
            s.add(row)
            s.flush()
            if not alerts:
                s.execute(update(Alert).where(Alert.schedule == row.schedule, Alert.firing.is_(True))
                          .values(firing=False, resolved_at=utcnow()))
            made = [Alert(schedule=row.schedule, result_id=row.id, **a) for a in alerts]
            s.add_all(made)
            s.flush()
        return row, made

    def of(self, store: Store, schedule: str, limit: int = 20) -> list[ScheduleResult]:
        with store.session() as s:
            q = select(ScheduleResult).where(ScheduleResult.schedule == schedule)
            return list(s.scalars(q.order_by(ScheduleResult.id.desc()).limit(limit)))


class AlertsRows(Rows[Alert]):
    def page(self, store: Store, *, firing: bool | None = None, schedule: str | None = None,
             limit: int = 50) -> list[Alert]:
        q = select(Alert)
        if firing is not None:
            q = q.where(Alert.firing.is_(firing))
        if schedule is not None:
            q = q.where(Alert.schedule == schedule)
        with store.session() as s:
            return list(s.scalars(q.order_by(Alert.id.desc()).limit(limit)))

    def firing_count(self, store: Store) -> int:
        with store.session() as s:
            return int(s.scalar(select(func.count()).where(Alert.firing.is_(True))) or 0)

    def resolve(self, store: Store, alert_id: int) -> Alert | None:
        return self.update(store, alert_id, firing=False, resolved_at=utcnow())


SCHEDULES = SchedulesRows(EvalSchedule)
SCHEDULE_RESULTS = ResultsRows(ScheduleResult)
ALERTS = AlertsRows(Alert)
