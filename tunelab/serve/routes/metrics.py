"""GET /metrics: Prometheus text format (see tunelab.serve.metrics for what is exported)."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request
from starlette.responses import Response

from tunelab.store import ALERTS

router = APIRouter(tags=["server"])


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    state = request.app.state
    tracer = getattr(state, "tracer", None)  # its store; absent on an app put together without the lifespan
    if tracer is not None:
        state.metrics.alerts_firing.set(await anyio.to_thread.run_sync(ALERTS.firing_count, tracer.store))
    return Response(state.metrics.render(state.engine.stats()), media_type=state.metrics.content_type)
