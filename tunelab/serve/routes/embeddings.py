"""POST /v1/embeddings."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tunelab.serve.errors import NotFoundError
from tunelab.serve.protocol import CreateEmbeddingResponse, EmbeddingRequest

router = APIRouter(tags=["embeddings"])


@router.post("/v1/embeddings", response_model=CreateEmbeddingResponse)
async def create_embeddings(body: EmbeddingRequest, request: Request) -> CreateEmbeddingResponse:
    service = request.app.state.embeddings
    if service is None:
        raise NotFoundError("This server has no embedding model loaded (it was started without one).",
                            param="model", code="model_not_found")
    return await service.embed(body)
