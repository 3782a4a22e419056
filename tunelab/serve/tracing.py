"""Request traces of the server (on `app.state.tracer`): when TUNELAB_TRACE selects a request (by
model, adapter or API key), its prompt, response, model, adapter, latency, tokens, finish reason,
constraint and sources are redacted (`tunelab.data.redact`) and written to the store, which prunes
to the retention limits on the same write; with TUNELAB_OTEL and the `otel` extra installed, each
traced request is also an OpenTelemetry span.

Who asks comes from a context variable that `TraceCallerMiddleware` sets from the key middleware's
`caller`, so the services begin a trace without the HTTP request in hand.
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from tunelab.data.redact import Redactor
from tunelab.data.traces import TracePolicy
from tunelab.engine.types import Constraint, TokenEvent
from tunelab.settings import Settings
from tunelab.store import TRACES, Store

log = logging.getLogger("tunelab.serve.tracing")
CALLER: contextvars.ContextVar[str | None] = contextvars.ContextVar("tunelab_trace_caller", default=None)


class TraceCallerMiddleware:
    """Puts the request's API key name (None: local) where `Tracer.begin` reads it. Inside the key
    middleware, which has set `scope["state"]["caller"]` by then."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = scope.get("state", {}).get("caller") if scope["type"] == "http" else None
        token = CALLER.set(getattr(caller, "owner", None))
        try:
            await self.app(scope, receive, send)
        finally:
            CALLER.reset(token)


def _otel_tracer():
    try:
        from opentelemetry import trace  # lazy: an optional extra, read only when TUNELAB_OTEL is set
    except ImportError:
        log.warning("TUNELAB_OTEL is set but opentelemetry is not installed (pip install 'tunelab[otel]')")
        return None
    return trace.get_tracer("tunelab.serve")


def constraint_json(c: Constraint | None) -> dict | None:
    if c is None:
        return None
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(c).items() if v not in (None, ())}


class TraceHandle:
    """One traced request in flight: events (or a finished response) come in, `finish` writes it."""

    def __init__(self, tracer: Tracer, kind: str, model: str, adapter: str | None, caller: str | None,
                 prompt: list[dict], constraint: dict | None, sources: list | None) -> None:
        self.tracer, self.kind, self.model, self.adapter, self.caller = tracer, kind, model, adapter, caller
        self.prompt, self.constraint, self.sources = prompt, constraint, sources
        self.started, self.started_ns = time.perf_counter(), time.time_ns()
        self.prompt_tokens: int | None = None
        self.texts: dict[int, str] = {}
        self.completion: dict[int, int] = {}
        self.finish_reasons: dict[int, str] = {}
        self._done = False

    def on_event(self, i: int, ev: TokenEvent) -> None:
        self.texts[i] = self.texts.get(i, "") + ev.text
        self.completion[i] = ev.completion_tokens
        if ev.finish_reason is not None:
            self.finish_reasons[i] = ev.finish_reason

    async def finish(self, response: str | None = None, *, cancelled: bool = False) -> None:
        """Write the trace once (later calls do nothing). `response`: a task's answer; without it the
        choices' texts from the events (choice 0 is `response`)."""
        if self._done:
            return
        self._done = True
        n = max(self.texts, default=-1) + 1
        choices = [self.texts.get(i, "") for i in range(n)]
        reason = None if response is not None else ("cancelled" if cancelled and len(self.finish_reasons) < n
                                                    else self.finish_reasons.get(0))
        values = dict(kind=self.kind, model=self.model, adapter=self.adapter, caller=self.caller,
                      prompt=self.prompt, response=response if response is not None else (choices[0] if choices else ""),
                      choices=choices if n > 1 else [], latency_ms=(time.perf_counter() - self.started) * 1000,
                      prompt_tokens=self.prompt_tokens,
                      completion_tokens=sum(self.completion.values()) if self.completion else None,
                      finish_reason=reason, constraint=self.constraint, sources=self.sources)
        try:
            await anyio.to_thread.run_sync(self.tracer.write, values, self.started_ns)
        except Exception:  # noqa: BLE001 - a trace must never break the answer it describes
            log.exception("could not write a trace of %s", self.model)


class Tracer:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.policy = TracePolicy.parse(settings.trace)
        self.redactor = Redactor(settings.trace_redact)
        self.otel = _otel_tracer() if settings.otel and self.policy.enabled else None

    def begin(self, kind: str, model: str, adapter: str | None, prompt: list[dict], *,
              constraint: Constraint | None = None, sources: list | None = None) -> TraceHandle | None:
        """A handle when the policy traces this request (model id, adapter, the caller's key), else None."""
        caller = CALLER.get()
        if not self.policy.wants(model, adapter, caller):
            return None
        return TraceHandle(self, kind, model, adapter, caller, prompt, constraint_json(constraint), sources)

    def write(self, values: dict[str, Any], started_ns: int) -> str:
        """Redact, store and prune; emit the span. Returns the trace id."""
        r = self.redactor
        for key in ("prompt", "response", "choices", "sources"):
            values[key] = r.redact_value(values[key])
        trace_id = uuid.uuid4().hex
        age = self.settings.trace_max_age_days
        older = datetime.now(UTC) - timedelta(days=age) if age else None
        TRACES.add_pruned(self.store, max_rows=self.settings.trace_max_rows, older_than=older, id=trace_id, **values)
        if self.otel is not None:
            self._span(trace_id, values, started_ns)
        return trace_id

    def _span(self, trace_id: str, v: dict[str, Any], started_ns: int) -> None:
        attrs = {"tunelab.trace_id": trace_id, "tunelab.kind": v["kind"], "gen_ai.request.model": v["model"],
                 "tunelab.adapter": v["adapter"] or "", "tunelab.latency_ms": v["latency_ms"],
                 "gen_ai.usage.input_tokens": v["prompt_tokens"] or 0,
                 "gen_ai.usage.output_tokens": v["completion_tokens"] or 0,
                 "gen_ai.response.finish_reason": v["finish_reason"] or ""}
        span = self.otel.start_span(f"tunelab.{v['kind']}", start_time=started_ns, attributes=attrs)
        span.end()
