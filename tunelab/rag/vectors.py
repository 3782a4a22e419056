"""The vector store: Chroma, embedded (a persistent client under the home dir) by default, or a
Chroma server (`chroma run`) by URL. We always pass our own vectors, so Chroma never loads an
embedding model of its own; each Chroma collection records the embedding model's name and
dimension in its metadata, and uses cosine distance."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from tunelab.rag.documents import Chunk
from tunelab.rag.errors import EmbeddingMismatchError, VectorStoreError

_ADD_BATCH = 1000  # well under Chroma's max batch size


def chroma_name(name: str) -> str:
    """A new Chroma-legal collection name (3-512 of [a-zA-Z0-9._-], alphanumeric at both ends) for
    TuneLab collection `name`: a slug plus a random suffix, so two TuneLab homes sharing one Chroma
    server, or a collection re-created after removal, never write into each other's vectors."""
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", name).strip("._-")[:64] or "collection"
    return f"tl-{slug}-{uuid.uuid4().hex[:12]}"


@dataclass
class Hit:
    """One retrieved chunk. `score`: cosine similarity (dense), BM25 score, RRF score (hybrid) or
    cross-encoder score (reranked); higher is better within one result list."""

    id: str
    text: str
    score: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return str(self.meta.get("source", ""))

    @property
    def doc_id(self) -> str:
        """The document this chunk came from: a catalogue record's id, else its source."""
        return str(self.meta.get("record_id") or self.source)


def _client(url: str | None, path: Path):
    import chromadb  # lazy: chromadb is slow to import
    from chromadb.config import Settings as ChromaSettings  # lazy: chromadb is slow to import

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if url is None:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise VectorStoreError(f"Vector store URL '{url}' is not http(s)://HOST:PORT.")
    try:
        client = chromadb.HttpClient(host=parsed.hostname, port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                                     ssl=parsed.scheme == "https", settings=chroma_settings)
        client.heartbeat()
    except Exception as exc:  # chromadb raises plain ValueError/ConnectionError/httpx errors here
        raise VectorStoreError(f"Cannot reach the Chroma server at {url} ({type(exc).__name__}: {exc}). Start one "
                               f"with `chroma run --path DIR --port PORT`, or leave the URL out to use the embedded "
                               f"store.") from None
    return client


def forget_embedded_clients() -> None:
    """Make the next embedded client read the store from disk. Chroma keeps one client state per
    folder in a process, with each collection's vector index in memory: vectors another process
    added later (an ingest job) stay invisible to it. Clients made before keep working on what they
    had; a long-lived reader (the server) calls this before it reopens a collection that changed.
    TuneLab never closes a Chroma client: closing an old one after this would stop the new state."""
    from chromadb.api.shared_system_client import SharedSystemClient  # lazy: chromadb is slow to import

    SharedSystemClient.clear_system_cache()


class VectorStore:
    """A Chroma client: the server at `url`, or the embedded store in `path`."""

    def __init__(self, url: str | None, path: Path) -> None:
        self.url, self.path = url, path
        self.client = _client(url, path)

    @property
    def where(self) -> str:
        return f"the Chroma server at {self.url}" if self.url else f"the embedded Chroma store in {self.path}"

    def collection(self, cname: str, *, name: str, model: str, dimension: int) -> VectorCollection:
        """Open (or create) Chroma collection `cname` of TuneLab collection `name`, refusing vectors
        of another embedding model."""
        col = self.client.get_or_create_collection(
            cname, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
            metadata={"tunelab_name": name, "embedding_model": model, "dimension": int(dimension)})
        have = col.metadata or {}
        if have.get("embedding_model") not in (None, model) or int(have.get("dimension", dimension)) != dimension:
            raise EmbeddingMismatchError(
                f"Collection '{name}' in {self.where} holds vectors of '{have.get('embedding_model')}' "
                f"({have.get('dimension')} dimensions), not of '{model}' ({dimension}).")
        return VectorCollection(col, name=name, model=model, dimension=int(dimension))

    def drop(self, cname: str) -> None:
        try:
            self.client.delete_collection(cname)
        except Exception:  # noqa: BLE001 - absent already
            pass


@dataclass
class VectorCollection:
    col: Any  # chromadb Collection
    name: str
    model: str
    dimension: int

    def count(self) -> int:
        return self.col.count()

    def replace_source(self, source: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Remove `source`'s chunks, then add `chunks` (with their [n, dim] `vectors`)."""
        self.replace_sources([(source, chunks, vectors)])

    def replace_sources(self, items: Sequence[tuple[str, Sequence[Chunk], np.ndarray]]) -> None:
        """For each (source, chunks, [n, dim] vectors): remove the source's chunks, then add these.
        Many sources share each Chroma call: a call costs ~20 ms, and more as the collection grows,
        so one call per document (a catalogue record) would cost more than embedding it."""
        sources = list(dict.fromkeys(source for source, _, _ in items))
        for start in range(0, len(sources), _ADD_BATCH):
            self.col.delete(where={"source": {"$in": sources[start:start + _ADD_BATCH]}})
        chunks = [c for _, part, _ in items for c in part]
        if not chunks:
            return
        vectors = np.concatenate([np.asarray(v, dtype=np.float32) for _, part, v in items if len(part)])
        for start in range(0, len(chunks), _ADD_BATCH):
            part = chunks[start:start + _ADD_BATCH]
            self.col.add(ids=[c.id for c in part], documents=[c.text for c in part],
                         metadatas=[c.meta for c in part], embeddings=vectors[start:start + len(part)])

    def delete_source(self, source: str) -> None:
        self.col.delete(where={"source": {"$eq": source}})

    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[Hit]:
        """The `k` chunks nearest to `vector` ([dim]) that pass `where`, best first."""
        if k <= 0:
            return []
        # No count() first: Chroma (>= 1.0) returns fewer results from a smaller or empty collection, and
        # counting costs time linear in its size (~5 ms a query at 100,000 chunks, a third of the query).
        res = self.col.query(query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=k,
                             where=where, include=["documents", "metadatas", "distances"])
        return [Hit(id=i, text=doc or "", score=1.0 - float(dist), meta=dict(meta or {}))
                for i, doc, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                              res["distances"][0])]

    def all_chunks(self, page: int = 1000) -> Iterator[Hit]:
        """Every chunk (id, text, metadata), in pages, for rebuilding the BM25 index."""
        offset = 0
        while True:
            res = self.col.get(include=["documents", "metadatas"], limit=page, offset=offset)
            for i, doc, meta in zip(res["ids"], res["documents"], res["metadatas"]):
                yield Hit(id=i, text=doc or "", score=0.0, meta=dict(meta or {}))
            if len(res["ids"]) < page:
                return
            offset += page
