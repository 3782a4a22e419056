"""RAG collections in the metadata store: their embedding model (name and dimension), where
their vectors live, how they are chunked; their documents (source, hash) and ingest reports.

`CollectionInfo` is a plain snapshot of a `collections` row; `settings` holds `vector_url`,
`chroma_name`, `chunking` and `mapping`. The rows are read and written through `store.COLLECTIONS`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tunelab.rag.errors import EmbeddingMismatchError, RagError, UnknownCollectionError
from tunelab.rag.vectors import VectorCollection, VectorStore
from tunelab.settings import Settings
from tunelab.store import COLLECTIONS, Collection, Store


@dataclass
class CollectionInfo:
    id: int
    name: str
    embedding_model: str
    dimension: int
    settings: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    @property
    def vector_url(self) -> str | None:
        return self.settings.get("vector_url")

    @property
    def chroma_name(self) -> str:
        return self.settings["chroma_name"]


@dataclass
class DocumentState:
    """What the store knows of one document: enough to decide unchanged / updated."""

    content_hash: str
    chunking: str | None
    num_chunks: int


def _info(row: Collection) -> CollectionInfo:
    return CollectionInfo(id=row.id, name=row.name, embedding_model=row.embedding_model, dimension=row.dimension,
                          settings=dict(row.settings or {}), created_at=row.created_at)


def check_embedder(info: CollectionInfo, model: str, dimension: int) -> None:
    """Refuse an embedding model other than the one the collection was built with."""
    if model != info.embedding_model or dimension != info.dimension:
        raise EmbeddingMismatchError(
            f"Collection '{info.name}' was embedded with '{info.embedding_model}' ({info.dimension} dimensions); "
            f"'{model}' ({dimension} dimensions) cannot query or extend it: its vectors would not be comparable. "
            f"Leave out the embedding model to use the collection's own, or ingest into a new collection.")


class CollectionRegistry:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings

    # -- collections ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        return COLLECTIONS.names(self.store)

    def list(self) -> list[CollectionInfo]:
        return [_info(r) for r in COLLECTIONS.all(self.store)]

    def find(self, name: str) -> CollectionInfo | None:
        row = COLLECTIONS.find(self.store, name)
        return None if row is None else _info(row)

    def get(self, name: str) -> CollectionInfo:
        info = self.find(name)
        if info is None:
            raise UnknownCollectionError(name, self.names())
        return info

    def create(self, name: str, *, embedding_model: str, dimension: int, vector_url: str | None,
               chroma: str, extra: dict[str, Any] | None = None) -> CollectionInfo:
        """Record a new collection whose vectors are in Chroma collection `chroma` at `vector_url`."""
        return _info(COLLECTIONS.add(self.store, name=name, embedding_model=embedding_model, dimension=int(dimension),
                                     settings={"vector_url": vector_url, "chroma_name": chroma, **(extra or {})}))

    def update_settings(self, info: CollectionInfo, **values: Any) -> CollectionInfo:
        return _info(COLLECTIONS.merge_settings(self.store, info.id, values))

    def vector_store(self, info: CollectionInfo | None, url: str | None = None) -> VectorStore:
        """The Chroma store holding `info`'s vectors. A URL other than the one it was created with
        is refused: the vectors are not there."""
        if info is not None and url is not None and url != info.vector_url:
            where = info.vector_url or "the embedded store"
            raise RagError(f"Collection '{info.name}' lives in {where}, not at {url}; leave out the URL to use it.")
        url = info.vector_url if info is not None else (url or self.settings.vector_url)
        return VectorStore(url, self.settings.rag_dir / "chroma")

    def bm25_dir(self, info: CollectionInfo) -> Path:
        return self.settings.rag_dir / "bm25" / info.chroma_name

    def vectors(self, info: CollectionInfo, url: str | None = None) -> VectorCollection:
        """`info`'s vector collection, opened in the store that holds it."""
        return self.vector_store(info, url).collection(info.chroma_name, name=info.name, model=info.embedding_model,
                                                       dimension=info.dimension)

    # -- documents -----------------------------------------------------------------------------
    def document_states(self, info: CollectionInfo) -> dict[str, DocumentState]:
        return {source: DocumentState(digest, meta.get("chunking"), chunks)
                for source, digest, meta, chunks in COLLECTIONS.document_states(self.store, info.id)}

    def save_document(self, info: CollectionInfo, *, source: str, doc_type: str, content_hash: str,
                      title: str | None, meta: dict[str, Any], num_chunks: int) -> None:
        COLLECTIONS.save_document(self.store, info.id, source, doc_type=doc_type, content_hash=content_hash,
                                  title=title, meta=meta, num_chunks=num_chunks)

    def count_documents(self, info: CollectionInfo) -> int:
        return COLLECTIONS.count_documents(self.store, info.id)

    # -- ingest reports ------------------------------------------------------------------------
    def save_report(self, info: CollectionInfo, source: str, counts: dict[str, int],
                    failures: list[dict[str, str]]) -> None:
        COLLECTIONS.add_report(self.store, info.id, source, counts, failures)

    def reports(self, info: CollectionInfo) -> list[dict[str, Any]]:
        return [{"source": r.source, "counts": dict(r.counts), "failures": list(r.failures),
                 "created_at": r.created_at} for r in COLLECTIONS.reports(self.store, info.id)]
