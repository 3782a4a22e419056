"""RAG collection routes beyond the list (GET /v1/collections is in control.py): GET
/v1/collections/{name} (documents, ingest reports), POST /v1/collections/{name}/search {query, mode,
k, filters} (hits with scores, one mode per call), and POST /v1/rag/uploads (multipart `files`,
stored under <home>/rag/uploads; their paths go into an ingest job's `sources`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile

from tunelab.serve.collections_protocol import CollectionDetail, SearchRequest, SearchResult, UploadList
from tunelab.serve.collections_service import CollectionsService
from tunelab.serve.routes.jobs import call

router = APIRouter(tags=["collections"])


def _service(request: Request) -> CollectionsService:
    return request.app.state.collections


@router.get("/v1/collections/{name}", response_model=CollectionDetail)
async def get_collection(name: str, request: Request) -> CollectionDetail:
    return await call(_service(request).detail, name)


@router.post("/v1/collections/{name}/search", response_model=SearchResult)
async def search_collection(name: str, body: SearchRequest, request: Request) -> SearchResult:
    """Search as `tunelab search` does; the scores are cosine similarity (dense), BM25 scores or
    reciprocal rank fusion scores (hybrid)."""
    return await call(_service(request).search, name, body)


@router.post("/v1/rag/uploads", response_model=UploadList, status_code=201)
async def upload_documents(request: Request,
                           files: Annotated[list[UploadFile], File(description="Documents to ingest.")]) -> UploadList:
    """Keep the files on the server for an ingest job (POST /v1/jobs kind ingest, sources: their paths)."""
    try:
        return await call(_service(request).save_uploads, [(f.filename or "", f.file) for f in files])
    finally:
        for f in files:
            await f.close()
