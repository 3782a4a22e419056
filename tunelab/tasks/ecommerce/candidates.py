"""The candidate categories [CLASSIFY] ranks, from up to three sources, each with its own budget:

- ``embedding``: the categories whose path embeds nearest the listing (`CategoryIndex`);
- ``knn``: the labels of the nearest labelled products of a training catalogue (`ProductNeighbours`;
  by default the packaged sample's train split);
- ``bm25``: the categories whose names and synonyms share the listing title's words (`CategoryBM25`).

`CandidateRetriever.gather_many(texts, budget)` returns, per text, their union (deduplicated, in
source order: embedding, knn, bm25), what each source found, and every candidate's cosine with the
text (the ranking where no model can score). The listing is embedded once for the embedding and
knn sources when they share an embedder. A retriever is built once (per server, per eval run) and
builds its knn catalogue and BM25 index on first use; `retriever_for(index)` keeps one per index."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

from tunelab.tasks.ecommerce.category_bm25 import CategoryBM25
from tunelab.tasks.ecommerce.category_index import CategoryIndex, embed_rows
from tunelab.tasks.ecommerce.neighbours import ProductNeighbours

SOURCES = ("embedding", "knn", "bm25")


@dataclass(frozen=True)
class Budget:
    """How many categories each source contributes at most (0: the source is off)."""

    embedding: int = 20
    knn: int = 0
    bm25: int = 0

    def __post_init__(self) -> None:
        for name in SOURCES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"The {name} candidate budget must be a whole number of at least 0, got {value!r}.")
        if self.total() < 1:
            raise ValueError("Every candidate budget is 0: give at least one source (embedding, knn, bm25) a budget.")

    def total(self) -> int:
        return self.embedding + self.knn + self.bm25

    def used(self) -> list[str]:
        """The sources with a budget, in union order."""
        return [name for name in SOURCES if getattr(self, name) > 0]


@dataclass(frozen=True)
class Candidates:
    """One text's candidates: `ids` the union (deduplicated, embedding first, then knn, then bm25),
    `sources` each used source's own list (best first), `cosine` every union id's cosine with the text."""

    ids: list[int]
    sources: dict[str, list[int]] = field(default_factory=dict)
    cosine: dict[int, float] = field(default_factory=dict)


class CandidateRetriever:
    """The three candidate sources over one taxonomy. `neighbours` None: the sample's train split (its
    products whose category the taxonomy has), built on first knn use (embedded with the index's
    embedder, cached next to the index's matrix); `bm25` None: `CategoryBM25.for_taxonomy`, on first
    bm25 use."""

    def __init__(self, index: CategoryIndex, *, neighbours: ProductNeighbours | None = None,
                 bm25: CategoryBM25 | None = None) -> None:
        self.index = index
        self._neighbours, self._bm25 = None, None
        self._lock = threading.Lock()
        self._column = {int(cid): i for i, cid in enumerate(index.ids)}
        if neighbours is not None:
            self._neighbours = self._checked(neighbours)
        if bm25 is not None:
            if bm25.taxonomy is not index.taxonomy and (len(bm25) != len(index)
                                                    or bm25.taxonomy.version != index.taxonomy.version):
                raise ValueError(f"The BM25 index was built over {bm25.taxonomy!r}, not over {index.taxonomy!r}.")
            self._bm25 = bm25

    @property
    def taxonomy(self):
        return self.index.taxonomy

    def __len__(self) -> int:
        return len(self.index)

    def _checked(self, neighbours: ProductNeighbours) -> ProductNeighbours:
        missing = sorted(c for c in neighbours.categories() if c not in self._column)
        if missing:
            raise ValueError(f"The product catalogue {neighbours.source} labels products with categories "
                             f"{', '.join(map(str, missing[:5]))} that {self.taxonomy!r} lacks.")
        return neighbours

    def neighbours(self) -> ProductNeighbours:
        """The knn catalogue (the sample's train split unless one was given), built once."""
        with self._lock:
            if self._neighbours is None:
                cache = self.index.cache_path.parent if self.index.cache_path is not None else None
                self._neighbours = ProductNeighbours.sample(self.index.embedder, taxonomy=self.taxonomy, cache_dir=cache)
            return self._neighbours

    def bm25(self) -> CategoryBM25:
        """The BM25 index over the taxonomy's names and synonyms, built once."""
        with self._lock:
            if self._bm25 is None:
                self._bm25 = CategoryBM25.for_taxonomy(self.taxonomy)
            return self._bm25

    def gather_many(self, texts: Sequence[str], budget: Budget) -> list[Candidates]:
        """Each text's candidates under `budget` (CPU work: run it off the event loop)."""
        texts = list(texts)
        if not texts:
            return []
        queries = embed_rows(self.index.embedder, texts)
        sims = self.index.similarities(queries)  # [texts, categories]
        found: dict[str, list[list[tuple[int, float]]]] = {}
        if budget.embedding:
            found["embedding"] = self.index.top(sims, budget.embedding)
        if budget.knn:
            knn = self.neighbours()
            same = knn.embedder is self.index.embedder or knn.embedder.name == self.index.embedder.name
            vectors = queries if same else embed_rows(knn.embedder, texts)
            found["knn"] = knn.search_vectors(vectors, budget.knn)
        if budget.bm25:
            found["bm25"] = self.bm25().search_many(texts, budget.bm25)
        out = []
        for row in range(len(texts)):
            sources = {name: [cid for cid, _ in hits[row]] for name, hits in found.items()}
            union = list(dict.fromkeys(cid for name in SOURCES for cid in sources.get(name, [])))
            cosine = {cid: float(sims[row, self._column[cid]]) for cid in union}
            out.append(Candidates(ids=union, sources=sources, cosine=cosine))
        return out


_RETRIEVERS: weakref.WeakKeyDictionary[CategoryIndex, CandidateRetriever] = weakref.WeakKeyDictionary()
_RETRIEVERS_LOCK = threading.Lock()


def retriever_for(index: CategoryIndex | CandidateRetriever) -> CandidateRetriever:
    """`index` itself when it is a retriever; else the one retriever kept for that `CategoryIndex`
    (default knn catalogue and BM25 index, each built once on first use)."""
    if isinstance(index, CandidateRetriever):
        return index
    with _RETRIEVERS_LOCK:
        retriever = _RETRIEVERS.get(index)
        if retriever is None:
            retriever = _RETRIEVERS[index] = CandidateRetriever(index)
        return retriever
