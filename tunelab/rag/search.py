"""Search a collection: dense (embedding similarity in Chroma), BM25, or hybrid (both fused by
reciprocal rank fusion), with metadata filters applied the same way in every mode, optional query
expansion (a callable returning more queries, fused in), optional cross-encoder reranking, and a
hook for self-query (a model that turns a question into a query and filters; not built here).

`Searcher.open(name, settings=..., store=...)` loads nothing until a mode needs it: BM25 needs no
model and no vector store; dense loads the collection's own embedding model unless given one, and
refuses one that differs from the model the collection was built with."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from tunelab.rag.bm25 import BM25Index
from tunelab.rag.embed import Embedder, load_embedder
from tunelab.rag.filters import Filters
from tunelab.rag.hybrid import rrf
from tunelab.rag.registry import CollectionInfo, CollectionRegistry, check_embedder
from tunelab.rag.rerank import Reranker, rerank
from tunelab.rag.vectors import Hit, VectorCollection
from tunelab.settings import Settings
from tunelab.store import Store

SearchMode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[str, ...] = ("dense", "bm25", "hybrid")
QueryExpander = Callable[[str], Sequence[str]]


class SelfQuery(Protocol):
    """Hook for self-query: turn a user's question into (search query, filters), e.g. with a model
    constrained to emit {"query": ..., "category": ..., "price_max": ...}. Its filters are added to
    the caller's (the caller's win where both set a field)."""

    def __call__(self, question: str) -> tuple[str, Filters | None]: ...


class Searcher:
    def __init__(self, registry: CollectionRegistry, info: CollectionInfo, *, embedder: Embedder | None = None,
                 vector_url: str | None = None) -> None:
        if embedder is not None:
            check_embedder(info, embedder.name, embedder.dimension)
        self.registry, self.info, self._embedder, self.vector_url = registry, info, embedder, vector_url
        self._vectors: VectorCollection | None = None
        self._bm25: BM25Index | None = None
        # One search at a time: concurrent callers (answers in worker threads) share this searcher, and
        # Hugging Face fast tokenizers (embedder, cross-encoder) fail when two threads use one at once.
        self._lock = threading.RLock()

    @classmethod
    def open(cls, name: str, *, settings: Settings, store: Store, embedder: Embedder | None = None,
             embedding_model: str | None = None, vector_url: str | None = None) -> Searcher:
        """The searcher of collection `name`. `embedding_model` (a name or folder) is loaded now and
        refused if it is not the collection's; without it, the collection's own model is loaded on
        the first dense search."""
        registry = CollectionRegistry(store, settings)
        info = registry.get(name)
        if embedder is None and embedding_model is not None:
            embedder = load_embedder(embedding_model)
        return cls(registry, info, embedder=embedder, vector_url=vector_url)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            embedder = load_embedder(self.info.embedding_model)
            check_embedder(self.info, embedder.name, embedder.dimension)
            self._embedder = embedder
        return self._embedder

    @property
    def vectors(self) -> VectorCollection:
        if self._vectors is None:
            self._vectors = self.registry.vectors(self.info, self.vector_url)
        return self._vectors

    @property
    def bm25_index(self) -> BM25Index:
        if self._bm25 is None:
            self._bm25 = BM25Index.load(self.registry.bm25_dir(self.info))
        return self._bm25

    def dense(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        """The `k` chunks most similar to `query` (cosine similarity of embeddings)."""
        vector = self.embedder.embed([query])[0]
        return self.vectors.query(vector, k, where=filters.to_where() if filters else None)

    def bm25(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        return self.bm25_index.search(query, k, filters)

    def search(self, query: str, *, mode: SearchMode = "hybrid", k: int = 10, filters: Filters | None = None,
               expand: QueryExpander | None = None, reranker: Reranker | None = None, rerank_depth: int = 30,
               self_query: SelfQuery | None = None) -> list[Hit]:
        """Up to `k` chunks, best first. Hybrid and expanded searches take `max(3k, 20)` candidates
        from each list before fusing; reranking reorders the best `max(k, rerank_depth)` candidates."""
        if mode not in MODES:
            raise ValueError(f"Unknown search mode '{mode}'; modes: {', '.join(MODES)}.")
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        if self_query is not None:  # before taking the lock: the model may run a while
            query, wanted = self_query(query)
            filters = (filters or Filters()).merged(wanted)
        queries = [query]
        if expand is not None:
            queries += [q for q in dict.fromkeys(expand(query)) if q and q.strip() and q != query]
        with self._lock:
            return self._search(queries, mode, k, filters, reranker, rerank_depth)

    def _search(self, queries: list[str], mode: str, k: int, filters: Filters | None, reranker: Reranker | None,
                rerank_depth: int) -> list[Hit]:
        query = queries[0]
        depth = max(k, rerank_depth) if reranker is not None else k
        per_list = depth if (mode != "hybrid" and len(queries) == 1) else max(3 * depth, 20)
        lists: list[list[Hit]] = []
        for q in queries:
            if mode in ("dense", "hybrid"):
                lists.append(self.dense(q, per_list, filters))
            if mode in ("bm25", "hybrid"):
                lists.append(self.bm25(q, per_list, filters))
        hits = lists[0][:depth] if len(lists) == 1 else rrf(lists, limit=depth)
        if reranker is not None:
            hits = rerank(query, hits, reranker)
        return hits[:k]


def doc_ranking(hits: Sequence[Hit]) -> list[str]:
    """The documents of `hits` in order of their best chunk, each once: the ranking that
    `tunelab.eval.metrics.retrieval` scores against relevant document ids."""
    return list(dict.fromkeys(h.doc_id for h in hits))
