"""Evaluation runs in the store (`eval_runs`): a row is created when a run starts (status running),
completed with its metrics and report folder, or marked failed with the error. `list_runs` and
`get_run` read them back, newest first; an unknown id raises `UnknownEvalRunError` naming the recent ones.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tunelab.eval.results import EvalResult, json_safe
from tunelab.store import EVAL_RUNS, EvalRunEntry, Store, UnknownRunError


class UnknownEvalRunError(UnknownRunError):
    kind = "evaluation run"


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
    return f"eval-{task}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _info(row: EvalRunEntry) -> EvalRunInfo:
    metrics = {m: {k: (math.nan if v is None else float(v)) for k, v in vals.items()} for m, vals in (row.metrics or {}).items()}
    return EvalRunInfo(row.id, row.task, row.split, list(row.models or []), metrics, dict(row.params or {}),
                       row.report_dir, row.status, row.error, row.created_at, row.duration_s)


def start_run(store: Store, run_id: str, task: str, split: str, models: list[str], params: dict[str, Any]) -> None:
    """Record a run that has started (status running)."""
    EVAL_RUNS.insert(store, id=run_id, task=task, split=split, models=list(models), metrics={},
                     params=json_safe(params), status="running")


def save_run(store: Store, result: EvalResult, *, report_dir: str | None = None, status: str = "completed") -> None:
    """Store a finished run (insert, or complete the row `start_run` made)."""
    if not result.run_id:
        raise ValueError("an EvalResult needs a run_id to be stored.")
    params = json_safe({**result.params, "gates": result.gates})
    EVAL_RUNS.upsert(store, result.run_id, task=result.task, split=result.split, models=list(result.models),
                     metrics=json_safe(result.metrics), params=params, report_dir=report_dir, status=status,
                     error=None, duration_s=result.duration_s)


def fail_run(store: Store, run_id: str, error: str, duration_s: float | None = None) -> None:
    """Mark a started run failed, keeping the error for `tunelab evals show`."""
    EVAL_RUNS.update(store, run_id, status="failed", error=error[:4000], duration_s=duration_s)


def list_runs(store: Store, *, limit: int | None = 50, task: str | None = None) -> list[EvalRunInfo]:
    """Runs, newest first."""
    return [_info(r) for r in EVAL_RUNS.newest_first(store, limit=limit, task=task or None)]


def get_run(store: Store, run_id: str) -> EvalRunInfo:
    row = EVAL_RUNS.by_key(store, run_id)
    if row is None:
        raise UnknownEvalRunError(run_id, [r.id for r in list_runs(store, limit=5)])
    return _info(row)
