"""Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): several ranked lists → one.

    RRF(d) = Σ_lists 1 / (k + rank_list(d))      rank from 1; a list without d adds nothing

k = 60 damps the weight of top ranks, so a chunk ranked well by both BM25 and dense search beats
one ranked first by only one of them. Scores of the input lists are ignored: only ranks count."""

from __future__ import annotations

from collections.abc import Sequence

from tunelab.rag.vectors import Hit

RRF_K = 60


def rrf(rankings: Sequence[Sequence[Hit]], k: int = RRF_K, limit: int | None = None) -> list[Hit]:
    """Fuse ranked hit lists by chunk id; the result's scores are RRF scores, best first
    (ties keep the order in which chunks were first seen)."""
    if k < 0:
        raise ValueError(f"The RRF constant k must be ≥ 0, got {k}.")
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for ranking in rankings:
        seen: set[str] = set()
        for rank, hit in enumerate(ranking, start=1):
            if hit.id in seen:  # a chunk counts once per list, at its best rank
                continue
            seen.add(hit.id)
            first.setdefault(hit.id, hit)
            scores[hit.id] = scores.get(hit.id, 0.0) + 1.0 / (k + rank)
    order = sorted(scores, key=lambda i: -scores[i])  # stable: ties keep first-seen order
    fused = [Hit(id=i, text=first[i].text, score=scores[i], meta=dict(first[i].meta)) for i in order]
    return fused if limit is None else fused[:limit]
