"""GET /health: liveness and the engine's state; open without an API key."""

from __future__ import annotations

from fastapi import APIRouter, Request

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
