"""POST /v1/embeddings: the local embedding model, or `NAME/model` relayed to upstream NAME (as
chat is), so a client embeds through one server whichever model it names."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tunelab.serve.errors import NotFoundError
from tunelab.serve.protocol import CreateEmbeddingResponse, EmbeddingRequest
from tunelab.serve.upstream_proxy import forward

router = APIRouter(tags=["embeddings"])


@router.post("/v1/embeddings", response_model=CreateEmbeddingResponse)
async def create_embeddings(body: EmbeddingRequest, request: Request) -> Response | CreateEmbeddingResponse:
    state = request.app.state
    if "/" in body.model and state.upstreams is not None:
        name, remote = body.model.split("/", 1)
        upstream = state.upstreams.find(name)
        if upstream is not None:
            return await forward(state.upstreams, upstream, "embeddings", await request.json(),
                                 remote_model=remote, model_id=body.model, stream=False)
    service = state.embeddings
    if service is None:
        raise NotFoundError("This server has no embedding model loaded (it was started without one).",
                            param="model", code="model_not_found")
    return await service.embed(body)
