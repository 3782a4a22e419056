"""GET /metrics: Prometheus text format (see tunelab.serve.metrics for what is exported)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

router = APIRouter(tags=["server"])


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    state = request.app.state
    return Response(state.metrics.render(state.engine.stats()), media_type=state.metrics.content_type)
