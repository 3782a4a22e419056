"""Batched embedding with a rich progress bar (count, rate, ETA).

The embedder is any object with `.name`, `.dimension` and `.embed(texts) -> [n, dim]` unit rows:
`tunelab.models.embeddings.sentence_embedder()` (the packaged MiniLM by default) or another
sentence-transformers model by folder or name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from tunelab.models.embeddings import sentence_embedder


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.1f} chunks/s" if task.speed else "", style="cyan")


def load_embedder(name_or_folder: str | None = None) -> Embedder:
    """The sentence-transformers model `name_or_folder` (None: the packaged all-MiniLM-L6-v2)."""

    return sentence_embedder(name_or_folder)


def embed_texts(embedder: Embedder, texts: Sequence[str], *, batch_size: int = 32, progress: bool = True,
                console: Console | None = None, label: str = "Embedding") -> np.ndarray:
    """[len(texts), dimension] float32, computed `batch_size` texts per call to `embedder.embed`."""
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    if not texts:
        return out
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _Rate(),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=not progress)
    with bar:
        task = bar.add_task(label, total=len(texts))
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start:start + batch_size])
            vectors = np.asarray(embedder.embed(batch), dtype=np.float32)
            if vectors.shape != (len(batch), embedder.dimension):
                raise ValueError(f"Embedding model '{embedder.name}' returned shape {vectors.shape} for "
                                 f"{len(batch)} texts; expected ({len(batch)}, {embedder.dimension}).")
            out[start:start + len(batch)] = vectors
            bar.advance(task, len(batch))
    return out
