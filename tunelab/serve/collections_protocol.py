"""Request and response models of the RAG collection routes beyond the list: one collection with
its documents and ingest reports, a search in one mode with each hit's score, and files uploaded
for an ingest job (stored under the home dir's rag/uploads folder). Timestamps are ISO 8601."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tunelab.serve.control_protocol import CollectionItem
from tunelab.serve.timestamps import UtcDateTime

SCORE_KINDS = {"dense": "cosine similarity", "bm25": "BM25 score", "hybrid": "reciprocal rank fusion score"}


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=4000, description="What to look for.")
    mode: Literal["dense", "bm25", "hybrid"] = Field(
        "hybrid", description="dense (embedding similarity), bm25 (words) or hybrid (both, fused by reciprocal rank).")
    k: int = Field(5, ge=1, le=100, description="How many hits to return.")
    filters: dict[str, Any] | None = Field(
        None, description="Metadata filters as `tunelab search` takes them: category, brand, price_min, price_max, "
                          "fields {name: value}.")


class SearchHit(BaseModel):
    rank: int = Field(description="1 = best.")
    id: str = Field(description="The chunk's id.")
    score: float = Field(description="Higher is better within one list; what it measures depends on the mode.")
    source: str
    title: str | None
    section: str | None
    text: str
    meta: dict[str, Any]


class SearchResult(BaseModel):
    object: Literal["search_result"] = "search_result"
    collection: str
    query: str
    mode: str
    k: int
    score_kind: str = Field(description="What the scores are: cosine similarity, BM25 score or RRF score.")
    hits: list[SearchHit]
    took_ms: float


class CollectionDocument(BaseModel):
    source: str
    content_hash: str
    chunks: int


class IngestReport(BaseModel):
    source: str
    counts: dict[str, int]
    failures: list[dict[str, Any]]
    created_at: UtcDateTime | None


class CollectionDetail(CollectionItem):
    document_list: list[CollectionDocument] = Field(description="Its documents, by source (at most 500).")
    reports: list[IngestReport] = Field(description="The latest ingest reports, newest first (at most 50).")


class UploadedFile(BaseModel):
    name: str = Field(description="The stored file name (the uploaded name, made safe).")
    path: str = Field(description="Where the server keeps it: give this path to an ingest job's `sources`.")
    bytes: int


class UploadList(BaseModel):
    object: Literal["list"] = "list"
    folder: str = Field(description="The folder this upload's files are in, under <home>/rag/uploads.")
    data: list[UploadedFile]
