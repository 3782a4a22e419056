"""GET /health: liveness and the engine's state; open without an API key."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request

from tunelab.serve.system_info import system_info

router = APIRouter(tags=["server"])


@router.get("/health")
async def health(request: Request) -> dict:
    state = request.app.state
    stats = state.engine.stats()
    embeddings = state.embeddings.model_id if state.embeddings is not None else None
    return {"status": "ok", "model": state.generation.base_name,
            "engine": state.engine.kind,
            "queue_depth": stats.queue_depth, "running": stats.running,
            "loaded_adapters": stats.loaded_adapters, "embeddings": embeddings}


@router.get("/v1/system")
async def system(request: Request) -> dict:
    """The device and precision of the base model, the CPU, threads and memory."""
    return await anyio.to_thread.run_sync(system_info, request.app.state.generation.loaded)
