"""Retrieval metrics: Recall@k, MRR and nDCG@k over ranked id lists, averaged over queries.

Per query, `rankings[q]` is the retrieved ids best first (a repeated id counts at its first place
only) and `relevant[q]` is a set of relevant ids (binary) or a dict id → grade (graded; grade ≤ 0
is not relevant). A query with no relevant id is refused: drop such queries before scoring."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from numbers import Real

from tunelab.eval.metrics.checks import cutoff, paired

Relevance = Iterable[Hashable] | Mapping[Hashable, float]


def _grades(relevant: Relevance, index: int) -> dict[Hashable, float]:
    if isinstance(relevant, Mapping):
        grades = {}
        for doc, grade in relevant.items():
            if not isinstance(grade, Real) or isinstance(grade, bool) or grade < 0:
                raise ValueError(f"relevant[{index}][{doc!r}] is {grade!r}; a relevance grade must be a number ≥ 0.")
            if grade > 0:
                grades[doc] = float(grade)
    elif isinstance(relevant, (str, bytes)) or not isinstance(relevant, Iterable):
        raise ValueError(f"relevant[{index}] is {relevant!r}; give a set of relevant ids or a dict id → grade.")
    else:
        grades = dict.fromkeys(relevant, 1.0)
    if not grades:
        raise ValueError(
            f"relevant[{index}] has no relevant id, so the metric is undefined for that query; "
            "leave such queries (e.g. unanswerable questions) out before scoring."
        )
    return grades


def _top(ranked: Sequence[Hashable], index: int, k: int | None) -> list[Hashable]:
    if isinstance(ranked, (str, bytes, Mapping)) or not isinstance(ranked, Iterable):
        raise ValueError(f"rankings[{index}] is {ranked!r}; give the retrieved ids as a list, best first.")
    unique = list(dict.fromkeys(ranked))
    return unique if k is None else unique[:k]


def _queries(rankings, relevant, k):
    ranks, rels = paired(rankings, relevant, names=("rankings", "relevant"))
    return [(_top(r, i, k), _grades(g, i)) for i, (r, g) in enumerate(zip(ranks, rels))]


def recall_at_k(rankings: Iterable[Sequence[Hashable]], relevant: Iterable[Relevance], k: int = 10) -> float:
    """Mean over queries of |top-k ∩ R| / |R|, R the relevant ids (grades ignored)."""
    queries = _queries(rankings, relevant, cutoff(k))
    return sum(sum(doc in grades for doc in top) / len(grades) for top, grades in queries) / len(queries)


def mrr(rankings: Iterable[Sequence[Hashable]], relevant: Iterable[Relevance], k: int | None = None) -> float:
    """Mean reciprocal rank: mean over queries of 1 / rank of the first relevant id (ranks from 1),
    0 when none is in the list (or in its first k, if k is given)."""
    queries = _queries(rankings, relevant, None if k is None else cutoff(k))
    total = 0.0
    for top, grades in queries:
        total += next((1.0 / rank for rank, doc in enumerate(top, start=1) if doc in grades), 0.0)
    return total / len(queries)


def ndcg_at_k(rankings: Iterable[Sequence[Hashable]], relevant: Iterable[Relevance], k: int = 10) -> float:
    """Mean over queries of DCG@k / IDCG@k with linear gains (scikit-learn's `ndcg_score`, trec_eval):

        DCG@k = Σ_{i=1..k} gᵢ / log₂(i + 1)     gᵢ = grade of the id at rank i (1 for a set, 0 if irrelevant)

    and IDCG@k the DCG@k of the relevant grades sorted from high to low.
    """
    queries = _queries(rankings, relevant, cutoff(k))
    total = 0.0
    for top, grades in queries:
        dcg = sum(grades.get(doc, 0.0) / math.log2(rank + 1) for rank, doc in enumerate(top, start=1))
        ideal = sorted(grades.values(), reverse=True)[:k]
        total += dcg / sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, start=1))
    return total / len(queries)
