"""Scheduled evaluations and the quality alerts they raise.

A schedule is an eval config (task, models, split, data, gates; `tunelab.eval.config`) with a
cadence (`jobs.cadence`), a drift threshold and an optional webhook. Each run evaluates it
(`tunelab.eval.runner.run_eval`) and records the watched model's metrics (the config's last
column) and gate outcomes; then it compares them with the schedule's accepted result: an alert is
raised for each failed gate and for each metric that got worse than the accepted value by more
than `drift` (absolute; "worse" is lower, or higher for counts and timings). The first clean
result is accepted on its own; later ones only with `accept`. A result with no alerts resolves the
schedule's firing ones. New alerts are POSTed as JSON to the schedule's webhook (else
TUNELAB_ALERT_WEBHOOK). `enqueue_due` turns due schedules into `scheduled_eval` jobs (the worker
calls it as it polls); `run_schedule` is what such a job, and `tunelab alerts check --run`, run.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tunelab.eval.config import eval_config_from
from tunelab.eval.results import higher_is_better, json_safe
from tunelab.jobs.cadence import parse_cadence
from tunelab.jobs.service import new_job_id
from tunelab.settings import Settings
from tunelab.store import ALERTS, JOBS, SCHEDULE_RESULTS, SCHEDULES, EvalSchedule, Store

log = logging.getLogger("tunelab.jobs.schedules")


class ScheduleError(ValueError):
    """An unknown schedule, or a schedule whose definition is not valid (the message says which part)."""


@dataclass
class Outcome:
    """What one run of a schedule found."""

    schedule: str
    result_id: int
    eval_run_id: str | None
    model: str
    metrics: dict[str, float]
    gates: list[dict[str, Any]]
    accepted: bool
    alerts: list[dict[str, Any]] = field(default_factory=list)
    webhook_status: str | None = None


def now() -> datetime:
    return datetime.now(UTC)


def get_schedule(store: Store, name: str) -> EvalSchedule:
    row = SCHEDULES.by_key(store, name)
    if row is None:
        known = ", ".join(r.name for r in SCHEDULES.all(store)) or "none (tunelab schedules add)"
        raise ScheduleError(f"No schedule '{name}'. Schedules: {known}.")
    return row


def add_schedule(store: Store, name: str, eval_fields: dict[str, Any], *, every: str, drift: float = 0.05,
                 webhook: str | None = None, replace: bool = False) -> EvalSchedule:
    """Validate and store a schedule (its first run is due now); a taken name needs `replace`."""
    if not name.strip():
        raise ScheduleError("A schedule needs a name.")
    cfg = eval_config_from(eval_fields, f"schedule {name}")
    if cfg.task == "retrieval":
        raise ScheduleError(f"schedule {name}: task retrieval compares search modes, not a model; schedule "
                            "classify, extract, qa or preference")
    parse_cadence(every)
    if drift < 0:
        raise ScheduleError(f"schedule {name}: drift must be 0 or more (got {drift})")
    if webhook is not None and not webhook.startswith(("http://", "https://")):
        raise ScheduleError(f"schedule {name}: webhook {webhook!r} is not an http(s) URL")
    if SCHEDULES.by_key(store, name) is not None:
        if not replace:
            raise ScheduleError(f"Schedule '{name}' exists; remove it first or replace it (--replace).")
        SCHEDULES.remove(store, name)
    return SCHEDULES.insert(store, name=name, eval=cfg.model_dump(mode="json", exclude_defaults=True), every=every,
                            drift=drift, webhook=webhook, next_run_at=None)


def _worse_by(metric: str, accepted: float, value: float) -> float:
    return accepted - value if higher_is_better(metric) else value - accepted


def alerts_for(metrics: dict[str, float], gates: list[dict], accepted: dict[str, float] | None,
               drift: float, model: str) -> list[dict[str, Any]]:
    """The alerts a result raises: each failed gate, each metric worse than the accepted value by more than drift."""
    out = [{"reason": "gate", "metric": None, "message": f"{model}: gate {g['gate']} failed ({g['detail']})"}
           for g in gates if not g["passed"]]
    for metric, value in (accepted or {}).items():
        new = metrics.get(metric)
        if new is None or not all(map(math.isfinite, (value, new))):
            continue
        worse = _worse_by(metric, value, new)
        if worse > drift + 1e-12:
            out.append({"reason": "drift", "metric": metric,
                        "message": f"{model}: {metric} {new:.4g} against {value:.4g} accepted (worse by {worse:.4g}, "
                                   f"more than the drift allowed, {drift:g})"})
    return out


def _post(url: str, payload: dict) -> str:
    try:
        r = httpx.post(url, json=payload, timeout=10)
        return str(r.status_code)
    except httpx.HTTPError as exc:
        log.warning("alert webhook %s failed: %s", url, exc)
        return f"error: {type(exc).__name__}"[:64]


def run_schedule(store: Store, settings: Settings, name: str, *, progress=None) -> Outcome:
    """Evaluate the schedule now, record the result and its alerts, post them, set the next run."""
    from tunelab.eval.runner import run_eval  # lazy: the eval stack (torch) only when a schedule runs

    row = get_schedule(store, name)
    cfg = eval_config_from(row.eval, f"schedule {name}")
    started = now()
    result = asyncio.run(run_eval(cfg, settings, store, progress=progress))
    model = cfg.columns[-1]
    metrics = {k: float(v) for k, v in json_safe(result.metrics.get(model, {})).items()
               if isinstance(v, (int, float)) and v is not None}
    gates = json_safe([g for g in result.gates if g["model"] == model])
    accepted_row = SCHEDULE_RESULTS.by_key(store, row.accepted_result) if row.accepted_result else None
    alerts = alerts_for(metrics, gates, accepted_row.metrics if accepted_row else None, row.drift, model)
    passed = all(g["passed"] for g in gates)
    res, made = SCHEDULE_RESULTS.record(store, alerts, schedule=name, eval_run_id=result.run_id, model=model,
                                        metrics=metrics, gates=gates, passed=passed)
    accept_now = accepted_row is None and passed and not alerts
    SCHEDULES.update(store, name, next_run_at=parse_cadence(row.every).next_after(started),
                     **({"accepted_result": res.id} if accept_now else {}))
    outcome = Outcome(name, res.id, result.run_id, model, metrics, gates, accept_now, alerts)
    url = row.webhook or settings.alert_webhook
    if made and url:
        payload = {"schedule": name, "result_id": res.id, "eval_run_id": result.run_id, "model": model,
                   "metrics": metrics, "accepted_metrics": accepted_row.metrics if accepted_row else None,
                   "alerts": [{"id": a.id, "reason": a.reason, "metric": a.metric, "message": a.message}
                              for a in made]}
        outcome.webhook_status = _post(url, payload)
        for a in made:
            ALERTS.update(store, a.id, webhook_status=outcome.webhook_status)
    return outcome


def accept(store: Store, name: str, result_id: int | None = None) -> int:
    """Make a result (default: the latest) the one later results are compared with; returns its id."""
    get_schedule(store, name)
    if result_id is None:
        latest = SCHEDULE_RESULTS.of(store, name, limit=1)
        if not latest:
            raise ScheduleError(f"Schedule '{name}' has no result to accept yet (tunelab schedules run {name}).")
        result_id = latest[0].id
    res = SCHEDULE_RESULTS.by_key(store, result_id)
    if res is None or res.schedule != name:
        raise ScheduleError(f"Result {result_id} is not a result of schedule '{name}' (tunelab schedules results {name}).")
    SCHEDULES.update(store, name, accepted_result=result_id)
    return result_id


def enqueue_due(store: Store, at: datetime | None = None) -> list[str]:
    """Queue a `scheduled_eval` job for every due schedule (and move its next run on, so it is queued
    once); returns the job ids."""
    at = at or now()
    if not SCHEDULES.due(store, at):  # a plain read first: the poll loop takes no write lock for nothing
        return []
    jobs = []
    for row in SCHEDULES.claim_due(store, at, lambda r: parse_cadence(r.every).next_after(at)):
        jobs.append(JOBS.submit(store, new_job_id(), "scheduled_eval", {"schedule": row.name}).id)
    return jobs
