"""TuneLab's adapter endpoints: GET /v1/adapters (loaded and available), POST /v1/adapters/load and
/v1/adapters/unload {"name"} to put a registered adapter on the base model ahead of its first
request, or take it off."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tunelab.serve.errors import APIError, NotFoundError, from_exception
from tunelab.serve.protocol import AdapterRequest, AdapterState

router = APIRouter(tags=["adapters"])


@router.get("/v1/adapters")
async def list_adapters(request: Request) -> dict:
    state = request.app.state
    return {"loaded": state.engine.stats().loaded_adapters,
            "available": [a.name for a in state.generation.adapters()]}


@router.post("/v1/adapters/load", response_model=AdapterState)
async def load_adapter(body: AdapterRequest, request: Request) -> AdapterState:
    state = request.app.state
    target = state.generation.resolve(body.name)
    if target.adapter is None:
        raise APIError(f"'{body.name}' is not an adapter of this server's base model.", param="name")
    try:
        await state.engine.load_adapter(body.name)
    except Exception as exc:  # noqa: BLE001
        raise from_exception(exc) from exc
    return AdapterState(name=body.name, loaded=state.engine.stats().loaded_adapters)


@router.post("/v1/adapters/unload", response_model=AdapterState)
async def unload_adapter(body: AdapterRequest, request: Request) -> AdapterState:
    state = request.app.state
    loaded = state.engine.stats().loaded_adapters
    if body.name not in loaded:
        raise NotFoundError(f"Adapter '{body.name}' is not loaded. Loaded adapters: {', '.join(loaded) or '(none)'}.",
                            param="name", code="adapter_not_loaded")
    try:
        await state.engine.unload_adapter(body.name)
    except Exception as exc:  # noqa: BLE001
        raise from_exception(exc) from exc
    return AdapterState(name=body.name, loaded=state.engine.stats().loaded_adapters)
