"""Nearest taxonomy categories of a product text by embedding similarity: the candidate set that
[CLASSIFY] ranks. `CategoryIndex` embeds every category once (the normalised sum of its full path's
and its own name's embeddings: unit rows, so a dot product is the cosine), keeps the [categories, dim]
matrix as a .npy file under `cache_dir` keyed by taxonomy and embedder, and answers
`search(text, n)` / `search_many(texts, n)` with (category id, cosine), best first."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from tunelab.models.embeddings import shared_sentence_embedder
from tunelab.tasks.ecommerce.taxonomy import Taxonomy


class Embedder(Protocol):
    """What the index needs: a `name` that identifies the model, and `embed(texts)` -> [n, dim]
    float32 rows of unit norm (`tunelab.models.embeddings.SentenceEmbedder` is one)."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


# What a category's vector is made of. The path alone (recall@5 0.63, @20 0.90 on the sample's test
# listings with MiniLM) lets the shared upper levels dominate; adding the leaf name's vector gives
# 0.87 and 0.95. Part of the cache key, so changing it never reads an old matrix.
SCHEME = "path+name"


def cache_slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[-40:] or "x"


class CategoryIndex:
    """Embedding index over a taxonomy's category paths.

    embedder: default the packaged all-MiniLM-L6-v2 (`shared_sentence_embedder()`: one copy per process).
    cache_dir: where the matrix is kept between runs (e.g. settings.home / "cache"); None: not kept."""

    def __init__(self, taxonomy: Taxonomy, embedder: Embedder | None = None, *,
                 cache_dir: str | Path | None = None) -> None:
        if embedder is None:

            embedder = shared_sentence_embedder()
        self.taxonomy, self.embedder = taxonomy, embedder
        categories = list(taxonomy)
        self.ids = np.array([c.id for c in categories], dtype=np.int64)  # row i of the matrix is ids[i]
        self.paths = [c.full_path for c in categories]
        self.names = [c.name for c in categories]
        self.cache_path = Path(cache_dir) / self.cache_name() if cache_dir is not None else None
        self.matrix = self._load_or_build()  # [categories, dim] float32, unit rows

    @classmethod
    def for_settings(cls, taxonomy: Taxonomy, settings, *, embedder: Embedder | None = None) -> CategoryIndex:
        """An index cached under `settings.home / "cache"` (a `tunelab.settings.Settings`)."""
        return cls(taxonomy, embedder, cache_dir=Path(settings.home) / "cache")

    def cache_name(self) -> str:
        """File name of the cached matrix: taxonomy version and size, embedder, and a hash of both
        (so an edited taxonomy of the same size or another model never reads a stale file)."""
        key = "\n".join([self.embedder.name, SCHEME, *self.paths])
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        version = self.taxonomy.version or "custom"
        return f"categories-{cache_slug(version)}-{len(self.paths)}-{cache_slug(self.embedder.name)}-{digest}.npy"

    def _load_or_build(self) -> np.ndarray:
        def build() -> np.ndarray:
            matrix = embed_rows(self.embedder, self.paths) + embed_rows(self.embedder, self.names)
            return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)

        return cached_matrix(self.cache_path, len(self.paths), build)

    def __len__(self) -> int:
        return len(self.paths)

    def search(self, text: str, n: int = 20) -> list[tuple[int, float]]:
        """The `n` categories nearest to `text`, best first: (category id, cosine similarity)."""
        return self.search_many([text], n)[0]

    def search_many(self, texts: Sequence[str], n: int = 20) -> list[list[tuple[int, float]]]:
        """`search` for many texts, embedded in one batch."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}.")
        if len(texts) == 0:
            return []
        return self.top(self.similarities(embed_rows(self.embedder, list(texts))), n)

    def similarities(self, queries: np.ndarray) -> np.ndarray:
        """[q, categories] cosines of unit query vectors (rows of `embedder.embed`) with every category."""
        return np.asarray(queries, dtype=np.float32) @ self.matrix.T

    def top(self, sims: np.ndarray, n: int) -> list[list[tuple[int, float]]]:
        """The `n` best (category id, cosine) of each row of `similarities`, best first."""
        n = min(n, sims.shape[1])
        top = np.argpartition(-sims, n - 1, axis=1)[:, :n]  # unordered best n per row
        out = []
        for row, cols in zip(sims, top):
            cols = cols[np.argsort(-row[cols], kind="stable")]
            out.append([(int(self.ids[c]), float(row[c])) for c in cols])
        return out


def embed_rows(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """`embedder.embed(texts)` as float32, checked to be one row per text."""
    out = np.asarray(embedder.embed(texts), dtype=np.float32)
    if out.ndim != 2 or out.shape[0] != len(texts):
        raise ValueError(f"The embedder {embedder.name!r} returned an array of shape {out.shape} "
                         f"for {len(texts)} texts.")
    return out


def cached_matrix(path: Path | None, rows: int, build: Callable[[], np.ndarray]) -> np.ndarray:
    """The float32 matrix kept at `path` when it is there with `rows` rows, else `build()` written
    there (to a temp file first, then renamed, so a concurrent reader never sees half a file)."""
    if path is not None and path.is_file():
        try:
            matrix = np.load(path, allow_pickle=False)
        except (OSError, ValueError):  # a torn or foreign file: rebuild it
            matrix = None
        if matrix is not None and matrix.ndim == 2 and matrix.shape[0] == rows:
            return matrix.astype(np.float32, copy=False)
    matrix = np.asarray(build(), dtype=np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as f:
            np.save(f, matrix)
        os.replace(tmp, path)
    return matrix
