"""GET /v1/traces (newest first; filters model, adapter, key, kind; limit, offset), GET
/v1/traces/{id} and GET /v1/alerts (quality alerts of scheduled evaluations). Admin only (the
scopes table, serve/scopes.py): traces hold other callers' prompts."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request

from tunelab.data.traces import trace_dict
from tunelab.serve.control_protocol import MAX_INT
from tunelab.serve.errors import NotFoundError
from tunelab.serve.timestamps import as_utc
from tunelab.store import ALERTS, TRACES

router = APIRouter(tags=["monitoring"])


@router.get("/v1/traces")
async def list_traces(request: Request, model: str | None = None, adapter: str | None = None,
                      key: str | None = None, kind: str | None = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 50,
                      offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0) -> dict:
    store = request.app.state.tracer.store
    rows, total = await anyio.to_thread.run_sync(lambda: TRACES.page(
        store, model=model, adapter=adapter, caller=key, kind=kind, limit=limit, offset=offset))
    return {"object": "list", "data": [trace_dict(r) for r in rows], "total": total}


@router.get("/v1/traces/{trace_id}")
async def get_trace(trace_id: str, request: Request) -> dict:
    row = await anyio.to_thread.run_sync(TRACES.by_key, request.app.state.tracer.store, trace_id)
    if row is None:
        raise NotFoundError(f"Trace '{trace_id}' does not exist (GET /v1/traces lists them).", code="trace_not_found")
    return trace_dict(row)


@router.get("/v1/alerts")
async def list_alerts(request: Request, firing: bool | None = None) -> dict:
    rows = await anyio.to_thread.run_sync(lambda: ALERTS.page(request.app.state.tracer.store, firing=firing))
    return {"object": "list", "data": [{"id": a.id, "schedule": a.schedule, "result_id": a.result_id,
                                        "reason": a.reason, "metric": a.metric, "message": a.message,
                                        "firing": a.firing, "created_at": as_utc(a.created_at).isoformat()} for a in rows]}
