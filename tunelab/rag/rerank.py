"""Reranking: score each (query, chunk) pair with a cross-encoder and reorder by that score.

Any sentence-transformers `CrossEncoder` the user names, by folder or cached hub name, loaded by
`tunelab.models.rerankers.cross_encoder`. The hit's score becomes the cross-encoder's; the score
it had before is kept in `meta["retrieval_score"]`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from tunelab.models.rerankers import cross_encoder
from tunelab.rag.vectors import Hit


class Reranker(Protocol):
    name: str

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray: ...


def load_reranker(name_or_folder: str) -> Reranker:

    return cross_encoder(name_or_folder)


def rerank(query: str, hits: Sequence[Hit], reranker: Reranker, k: int | None = None) -> list[Hit]:
    """`hits` reordered by cross-encoder score, best first (ties keep their retrieval order)."""
    if not hits:
        return []
    scores = reranker.score(query, [h.text for h in hits])
    order = sorted(range(len(hits)), key=lambda i: -float(scores[i]))
    out = [Hit(id=hits[i].id, text=hits[i].text, score=float(scores[i]),
               meta={**hits[i].meta, "retrieval_score": hits[i].score}) for i in order]
    return out if k is None else out[:k]
