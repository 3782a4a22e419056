"""GET /v1/models and /v1/models/{id}: the base model, its adapters, the embedding model, and the
models of every upstream (as NAME/model)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tunelab.serve.protocol import Model, ModelList
from tunelab.serve.upstream_proxy import upstream_models

router = APIRouter(tags=["models"])


async def _all(request: Request) -> list[Model]:
    state = request.app.state
    data = state.generation.models()
    if state.embeddings is not None:
        data += state.embeddings.models()
    return data + await upstream_models(state.upstreams)


@router.get("/v1/models", response_model=ModelList)
async def list_models(request: Request) -> ModelList:
    return ModelList(data=await _all(request))


@router.get("/v1/models/{model:path}", response_model=Model)
async def get_model(model: str, request: Request) -> Model:
    for m in await _all(request):
        if m.id == model:
            return m
    raise request.app.state.generation.not_found(model)
