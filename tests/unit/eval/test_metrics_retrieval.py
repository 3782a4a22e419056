"""Retrieval metrics: Recall@k and MRR by hand, nDCG@k against scikit-learn's ndcg_score."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from tunelab.eval.metrics import mrr, ndcg_at_k, recall_at_k

RANKED = [["d1", "d2", "d3", "d4"], ["d5", "d6"], ["d7"]]
RELEVANT = [{"d2", "d4", "d9"}, {"d6"}, {"d8"}]


def test_recall_at_k_hand_computed():
    # k=2: q1 {d1, d2} holds 1 of 3 → 1/3; q2 {d5, d6} holds 1 of 1 → 1; q3 → 0   mean = 4/9
    assert recall_at_k(RANKED, RELEVANT, k=2) == pytest.approx(4 / 9)
    # k=4: q1 holds d2, d4 → 2/3; q2 1; q3 0                                       mean = 5/9
    assert recall_at_k(RANKED, RELEVANT, k=4) == pytest.approx(5 / 9)


def test_mrr_hand_computed():
    # first relevant at rank 2 (q1), rank 2 (q2), none (q3) → (1/2 + 1/2 + 0) / 3 = 1/3
    assert mrr(RANKED, RELEVANT) == pytest.approx(1 / 3)
    assert mrr(RANKED, RELEVANT, k=1) == 0.0
    # a repeated id keeps its first place only: [a, a, b] ranks b second → 1/2
    assert mrr([["a", "a", "b"]], [{"b"}]) == 0.5


def test_ndcg_hand_computed_graded():
    # ranked [a, b, c], grades b=2, c=1, d=3 (d not retrieved), k=3:
    # DCG  = 0/log2(2) + 2/log2(3) + 1/log2(4)
    # IDCG = 3/log2(2) + 2/log2(3) + 1/log2(4)
    dcg = 2 / math.log2(3) + 1 / 2
    idcg = 3 + 2 / math.log2(3) + 1 / 2
    assert ndcg_at_k([["a", "b", "c"]], [{"b": 2, "c": 1, "d": 3, "e": 0}], k=3) == pytest.approx(dcg / idcg)
    # grades given as a set are all 1: [x, r] with R = {r}: DCG = 1/log2(3), IDCG = 1
    assert ndcg_at_k([["x", "r"]], [{"r"}], k=2) == pytest.approx(1 / math.log2(3))


@pytest.mark.parametrize("k", [1, 3, 5, 10])
@pytest.mark.parametrize("graded", [True, False])
def test_ndcg_matches_sklearn(k, graded):
    rng = np.random.default_rng(k)
    n_queries, n_docs = 8, 15
    grades = rng.integers(0, 4, (n_queries, n_docs)) * (rng.random((n_queries, n_docs)) < 0.4)
    grades[:, 0] = np.maximum(grades[:, 0], 1)  # every query has a relevant document
    if not graded:
        grades = (grades > 0).astype(int)
    scores = rng.random((n_queries, n_docs))  # [queries, docs], no ties
    rankings = [list(np.argsort(-row)) for row in scores]
    if graded:
        relevant = [{d: int(g) for d, g in enumerate(row) if g > 0} for row in grades]
    else:
        relevant = [{d for d, g in enumerate(row) if g} for row in grades]
    assert ndcg_at_k(rankings, relevant, k=k) == pytest.approx(ndcg_score(grades, scores, k=k))


def test_retrieval_input_errors():
    with pytest.raises(ValueError, match=r"relevant\[1\] has no relevant id"):
        recall_at_k([["a"], ["b"]], [{"a"}, set()], k=1)
    with pytest.raises(ValueError, match=r"relevant\[0\]\['a'\] is -1"):
        ndcg_at_k([["a"]], [{"a": -1}], k=1)
    with pytest.raises(ValueError, match="set of relevant ids"):
        mrr([["a"]], ["a"])
    with pytest.raises(ValueError, match=r"rankings\[0\]"):
        mrr(["abc"], [{"a"}])
    with pytest.raises(ValueError, match="rankings has 2 items but relevant has 1"):
        mrr([["a"], ["b"]], [{"a"}])
