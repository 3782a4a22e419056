"""Batched embedding with progress (count, rate, ETA: a bar on a terminal, plain lines in a file).

The embedder is any object with `.name`, `.dimension` and `.embed(texts) -> [n, dim]` unit rows:
`tunelab.models.embeddings.sentence_embedder()` (the packaged MiniLM by default) or another
sentence-transformers model by folder or name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from rich.console import Console

from tunelab.models.embeddings import sentence_embedder
from tunelab.progress import Progress


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def load_embedder(name_or_folder: str | None = None) -> Embedder:
    """The sentence-transformers model `name_or_folder` (None: the packaged all-MiniLM-L6-v2)."""

    return sentence_embedder(name_or_folder)


def embed_texts(embedder: Embedder, texts: Sequence[str], *, batch_size: int = 32, progress: bool = True,
                console: Console | None = None, label: str = "Embedding",
                progress_interval_s: float | None = None) -> np.ndarray:
    """[len(texts), dimension] float32, computed `batch_size` texts per call to `embedder.embed`;
    with `progress`, shown on `console` (plain lines every `progress_interval_s` in a file)."""
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    if not texts:
        return out
    with Progress(console, label, total=len(texts), rate_unit="chunks", enabled=progress,
                  interval_s=progress_interval_s) as bar:
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start:start + batch_size])
            vectors = np.asarray(embedder.embed(batch), dtype=np.float32)
            if vectors.shape != (len(batch), embedder.dimension):
                raise ValueError(f"Embedding model '{embedder.name}' returned shape {vectors.shape} for "
                                 f"{len(batch)} texts; expected ({len(batch)}, {embedder.dimension}).")
            out[start:start + len(batch)] = vectors
            bar.advance(len(batch))
    return out
