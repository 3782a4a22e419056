"""Evaluation runs in the store (`eval_runs`): a row is created when a run starts (status running),
completed with its metrics and report folder, or marked failed with the error. `list_runs` and
`get_run` read them back, newest first; an unknown id raises `UnknownEvalRunError` naming the recent ones.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from tunelab.eval.results import EvalResult, json_safe
from tunelab.store import Store
from tunelab.store.tables import EvalRunEntry


class UnknownEvalRunError(ValueError):
    pass


@dataclass
class EvalRunInfo:
    id: str
    task: str
    split: str
    models: list[str]
    metrics: dict[str, dict[str, float]]
    params: dict[str, Any]
    report_dir: str | None
    status: str
    error: str | None
    created_at: datetime
    duration_s: float | None


def new_run_id(task: str) -> str:
    """A sortable, readable id: eval-<task>-YYYYmmdd-HHMMSS-<4 hex>."""
    return f"eval-{task}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _info(row: EvalRunEntry) -> EvalRunInfo:
    metrics = {m: {k: (math.nan if v is None else float(v)) for k, v in vals.items()} for m, vals in (row.metrics or {}).items()}
    return EvalRunInfo(row.id, row.task, row.split, list(row.models or []), metrics, dict(row.params or {}),
                       row.report_dir, row.status, row.error, row.created_at, row.duration_s)


def start_run(store: Store, run_id: str, task: str, split: str, models: list[str], params: dict[str, Any]) -> None:
    """Record a run that has started (status running)."""
    with store.session() as s:
        s.add(EvalRunEntry(id=run_id, task=task, split=split, models=list(models), metrics={},
                           params=json_safe(params), status="running"))


def save_run(store: Store, result: EvalResult, *, report_dir: str | None = None, status: str = "completed") -> None:
    """Store a finished run (insert, or complete the row `start_run` made)."""
    if not result.run_id:
        raise ValueError("an EvalResult needs a run_id to be stored.")
    params = json_safe({**result.params, "gates": result.gates})
    with store.session() as s:
        row = s.get(EvalRunEntry, result.run_id)
        if row is None:
            row = EvalRunEntry(id=result.run_id)
            s.add(row)
        row.task, row.split, row.models = result.task, result.split, list(result.models)
        row.metrics, row.params = json_safe(result.metrics), params
        row.report_dir, row.status, row.error, row.duration_s = report_dir, status, None, result.duration_s


def fail_run(store: Store, run_id: str, error: str, duration_s: float | None = None) -> None:
    """Mark a started run failed, keeping the error for `tunelab evals show`."""
    with store.session() as s:
        row = s.get(EvalRunEntry, run_id)
        if row is not None:
            row.status, row.error, row.duration_s = "failed", error[:4000], duration_s


def list_runs(store: Store, *, limit: int | None = 50, task: str | None = None) -> list[EvalRunInfo]:
    """Runs, newest first."""
    query = sa.select(EvalRunEntry).order_by(EvalRunEntry.created_at.desc(), EvalRunEntry.id.desc())
    if task:
        query = query.where(EvalRunEntry.task == task)
    if limit:
        query = query.limit(limit)
    with store.session() as s:
        return [_info(r) for r in s.scalars(query).all()]


def get_run(store: Store, run_id: str) -> EvalRunInfo:
    with store.session() as s:
        row = s.get(EvalRunEntry, run_id)
        if row is not None:
            return _info(row)
    recent = ", ".join(r.id for r in list_runs(store, limit=5)) or "none yet"
    raise UnknownEvalRunError(f"No evaluation run '{run_id}'. Recent runs: {recent}.")
