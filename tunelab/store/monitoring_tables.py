"""ORM tables of monitoring: request traces (opt-in, redacted before they are written) and the
quality alerts of scheduled evaluations (schedules, their results, the alerts they raised). Kept
apart from `tables.py`; on the same `Base`, so one migration chain covers both."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tunelab.store.tables import Base, utcnow


class Trace(Base):
    """One generation or task request as served: prompt and response (redacted), who answered, how
    long it took, its tokens and why it ended."""

    __tablename__ = "traces"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # chat | completion | classify | extract | qa
    model: Mapped[str] = mapped_column(String(128), index=True)  # the request's model id
    adapter: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    caller: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # API key name; None: local
    prompt: Mapped[list] = mapped_column(JSON, default=list)  # chat messages [{role, content}]
    response: Mapped[str] = mapped_column(Text, default="")
    choices: Mapped[list] = mapped_column(JSON, default=list)  # every choice's text when n > 1
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    completion_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    finish_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    constraint: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # {kind, spec} of constrained output
    sources: Mapped[list | None] = mapped_column(JSON, nullable=True)  # RAG / QA sources, numbered as cited
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class EvalSchedule(Base):
    """An evaluation run again and again: its eval config (models, task, split, gates), how often, how
    far a metric may drift from the accepted result, and that accepted result."""

    __tablename__ = "eval_schedules"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    eval: Mapped[dict] = mapped_column(JSON, default=dict)  # EvalConfig fields
    every: Mapped[str] = mapped_column(String(64))  # "every 6h" or a 5-field cron line
    drift: Mapped[float] = mapped_column(Float, default=0.05)  # largest drop of a metric from the accepted result
    webhook: Mapped[str | None] = mapped_column(Text, nullable=True)
    accepted_result: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ScheduleResult(Base):
    """One run of a schedule: its eval run, the candidate's metrics, the gate outcomes."""

    __tablename__ = "schedule_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule: Mapped[str] = mapped_column(ForeignKey("eval_schedules.name", ondelete="CASCADE"), index=True)
    eval_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model: Mapped[str] = mapped_column(String(128))  # the column the gates and drift look at
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)  # metric -> value of that model
    gates: Mapped[list] = mapped_column(JSON, default=list)
    passed: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Alert(Base):
    """A failed gate or a metric that drifted, raised by one schedule result; firing until a later
    result of the schedule is clean or someone resolves it."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule: Mapped[str] = mapped_column(ForeignKey("eval_schedules.name", ondelete="CASCADE"), index=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("schedule_results.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # gate | drift
    metric: Mapped[str | None] = mapped_column(String(128), nullable=True)
    message: Mapped[str] = mapped_column(Text)
    firing: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    webhook_status: Mapped[str | None] = mapped_column(String(64), nullable=True)  # "200", or the error
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
