"""Candidate categories of a product text from the labels of its nearest labelled products (k nearest
neighbours over a training catalogue): a listing much like a catalogue product most likely shares
its category, even when the category's path reads nothing like the listing.

`ProductNeighbours` embeds every catalogue product's text once with the same embedder as the
`CategoryIndex` (so a query is embedded once for both), keeps the [products, dim] matrix as a .npy
file under `cache_dir` keyed by embedder and catalogue, and answers `search_many(texts, n)` with
(category id, vote) best first: the `neighbours` most similar products each vote for their category
with their cosine similarity; a category's vote is the sum. The default catalogue is the packaged
sample's train split (its products whose category the taxonomy has)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from tunelab.models.embeddings import shared_sentence_embedder
from tunelab.tasks.ecommerce.category_index import Embedder, cache_slug, cached_matrix, embed_rows
from tunelab.tasks.ecommerce.datasets import load_products, load_sample_products
from tunelab.tasks.ecommerce.datasets.records import Product
from tunelab.tasks.ecommerce.taxonomy import Taxonomy

DEFAULT_NEIGHBOURS = 10  # products that vote per query


class ProductNeighbours:
    """Nearest labelled products of a text, as votes for their categories.

    products: labelled `Product`s (each with a category_id); their `text()` is embedded.
    embedder: default the packaged all-MiniLM-L6-v2, as `CategoryIndex`.
    cache_dir: where the matrix is kept between runs; None: not kept.
    neighbours: how many nearest products vote for each query."""

    def __init__(self, products: Sequence[Product], embedder: Embedder | None = None, *,
                 cache_dir: str | Path | None = None, neighbours: int = DEFAULT_NEIGHBOURS,
                 source: str = "catalogue") -> None:
        if neighbours < 1:
            raise ValueError(f"neighbours must be at least 1, got {neighbours}.")
        products = list(products)
        unlabelled = next((p.id for p in products if p.category_id is None), None)
        if unlabelled is not None:
            raise ValueError(f"Product {unlabelled!r} of {source} has no category_id: every catalogue product "
                             "needs its category to vote for.")
        self.embedder = embedder if embedder is not None else shared_sentence_embedder()
        self.source, self.neighbours = source, neighbours
        self.product_ids = [p.id for p in products]
        self.texts = [p.text() for p in products]
        self.labels = np.array([p.category_id for p in products], dtype=np.int64)
        self.cache_path = Path(cache_dir) / self.cache_name() if cache_dir is not None and products else None
        # [products, dim], unit rows; an empty catalogue (no product fits the taxonomy) finds nothing
        self.matrix = cached_matrix(self.cache_path, len(self.texts), lambda: embed_rows(self.embedder, self.texts)) \
            if products else np.zeros((0, 0), dtype=np.float32)

    @classmethod
    def from_file(cls, path: str | Path, taxonomy: Taxonomy, embedder: Embedder | None = None, *,
                  cache_dir: str | Path | None = None, neighbours: int = DEFAULT_NEIGHBOURS,
                  split: str | None = "train", exclude: Collection[str] = ()) -> ProductNeighbours:
        """A catalogue from a TuneLab products file, labels checked against `taxonomy` (a label it
        lacks is an error naming the record): its `split` records (all of them when no record carries
        a split), less the ids in `exclude` (the evaluated records, so a product never votes for itself)."""
        products = load_products(path, taxonomy=taxonomy)
        if split is not None and any(p.split for p in products):
            products = [p for p in products if p.split == split]
        excluded = set(exclude)
        products = [p for p in products if p.id not in excluded]
        if not products:
            raise ValueError(f"The product catalogue {path} has no labelled product left (split {split!r}, less the "
                             f"{len(excluded)} evaluated records): the nearest-neighbour candidates need some.")
        return cls(products, embedder, cache_dir=cache_dir, neighbours=neighbours, source=str(path))

    @classmethod
    def sample(cls, embedder: Embedder | None = None, *, taxonomy: Taxonomy | None = None,
               cache_dir: str | Path | None = None, neighbours: int = DEFAULT_NEIGHBOURS,
               exclude: Collection[str] = ()) -> ProductNeighbours:
        """The packaged sample's train split as the catalogue, less the ids in `exclude`; with
        `taxonomy`, only the products whose category it has, same id and same path (none, for a
        taxonomy of your own: then the knn source finds nothing)."""
        excluded = set(exclude)

        def fits(p: Product) -> bool:
            return taxonomy is None or (p.category_id in taxonomy and taxonomy.path(p.category_id) == p.category_path)

        products = [p for p in load_sample_products("train") if p.id not in excluded and fits(p)]
        return cls(products, embedder, cache_dir=cache_dir, neighbours=neighbours, source="the sample's train split")

    def cache_name(self) -> str:
        """File name of the cached matrix: size, embedder, and a hash of both and every text."""
        key = "\n".join([self.embedder.name, *self.texts])
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        return f"products-{len(self.texts)}-{cache_slug(self.embedder.name)}-{digest}.npy"

    def __len__(self) -> int:
        return len(self.texts)

    def categories(self) -> set[int]:
        """Every category id a catalogue product carries."""
        return {int(c) for c in self.labels}

    def search_many(self, texts: Sequence[str], n: int = 10) -> list[list[tuple[int, float]]]:
        """Up to `n` categories for each text, best vote first: (category id, summed cosine)."""
        if len(texts) == 0:
            return []
        return self.search_vectors(embed_rows(self.embedder, list(texts)), n)

    def search_vectors(self, queries: np.ndarray, n: int = 10) -> list[list[tuple[int, float]]]:
        """`search_many` for query vectors already embedded by this embedder (unit rows)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}.")
        if not self.texts:
            return [[] for _ in range(len(queries))]
        sims = np.asarray(queries, dtype=np.float32) @ self.matrix.T  # [q, products]
        k = min(self.neighbours, sims.shape[1])
        out = []
        for row in sims:
            nearest = np.argpartition(-row, k - 1)[:k]
            votes: dict[int, list[float]] = {}
            for j in nearest:
                votes.setdefault(int(self.labels[j]), []).append(float(row[j]))
            # the summed cosine first; then the single closest product (ties on the sum); then the id
            ranked = sorted(votes.items(), key=lambda kv: (-sum(kv[1]), -max(kv[1]), kv[0]))
            out.append([(cid, float(sum(v))) for cid, v in ranked[:n]])
        return out
