"""GET /v1/traces (newest first; filters model, adapter, key, kind; limit, offset), GET
/v1/traces/{id} and GET /v1/alerts (quality alerts of scheduled evaluations). Admin only: traces
hold other callers' prompts."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request

from tunelab.data.traces import trace_dict
from tunelab.serve.errors import ForbiddenError, NotFoundError
from tunelab.serve.routes.jobs import caller
from tunelab.store import ALERTS, TRACES

router = APIRouter(tags=["monitoring"])


def _admin(request: Request) -> None:
    if not caller(request).admin:
        raise ForbiddenError("Only an admin key reads traces and alerts.", code="admin_required")


@router.get("/v1/traces")
async def list_traces(request: Request, model: str | None = None, adapter: str | None = None,
                      key: str | None = None, kind: str | None = None, limit: int = 50,
                      offset: int = 0) -> dict:
    _admin(request)
    store = request.app.state.tracer.store
    rows, total = await anyio.to_thread.run_sync(lambda: TRACES.page(
        store, model=model, adapter=adapter, caller=key, kind=kind, limit=max(1, min(limit, 500)),
        offset=max(0, offset)))
    return {"object": "list", "data": [trace_dict(r) for r in rows], "total": total}


@router.get("/v1/traces/{trace_id}")
async def get_trace(trace_id: str, request: Request) -> dict:
    _admin(request)
    row = await anyio.to_thread.run_sync(TRACES.by_key, request.app.state.tracer.store, trace_id)
    if row is None:
        raise NotFoundError(f"Trace '{trace_id}' does not exist (GET /v1/traces lists them).", code="trace_not_found")
    return trace_dict(row)


@router.get("/v1/alerts")
async def list_alerts(request: Request, firing: bool | None = None) -> dict:
    _admin(request)
    rows = await anyio.to_thread.run_sync(lambda: ALERTS.page(request.app.state.tracer.store, firing=firing))
    return {"object": "list", "data": [{"id": a.id, "schedule": a.schedule, "result_id": a.result_id,
                                        "reason": a.reason, "metric": a.metric, "message": a.message,
                                        "firing": a.firing, "created_at": a.created_at.isoformat()} for a in rows]}
