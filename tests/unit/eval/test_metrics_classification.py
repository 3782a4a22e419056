"""Classification metrics against scikit-learn and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, top_k_accuracy_score

from tunelab.eval.metrics import (
    PRF,
    accuracy,
    hierarchical_f1,
    hierarchical_prf,
    macro_f1,
    per_class_counts,
    top_k_accuracy,
    weighted_f1,
)


def _random_labels(seed: int, n: int = 60, classes: int = 5):
    rng = np.random.default_rng(seed)
    refs = rng.integers(0, classes, n)
    # one extra class (== classes) that only ever appears in predictions
    preds = np.where(rng.random(n) < 0.6, refs, rng.integers(0, classes + 1, n))
    return preds.tolist(), refs.tolist()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flat_metrics_match_sklearn(seed):
    preds, refs = _random_labels(seed)
    assert accuracy(preds, refs) == pytest.approx(accuracy_score(refs, preds))
    assert macro_f1(preds, refs) == pytest.approx(f1_score(refs, preds, average="macro", zero_division=0))
    assert weighted_f1(preds, refs) == pytest.approx(f1_score(refs, preds, average="weighted", zero_division=0))


def test_f1_hand_computed_with_a_label_only_predicted():
    preds = ["a", "a", "b", "c"]
    refs = ["a", "b", "b", "b"]
    # a: TP 1, FP 1, FN 0 → F1 = 2/(2+1) = 2/3
    # b: TP 1, FP 0, FN 2 → F1 = 2/(2+2) = 1/2
    # c: TP 0, FP 1, FN 0 → F1 = 0 (never a reference, so support 0)
    assert per_class_counts(preds, refs) == {"a": (1, 1, 0), "b": (1, 0, 2), "c": (0, 1, 0)}
    # macro = (2/3 + 1/2 + 0) / 3 = 7/18
    assert macro_f1(preds, refs) == pytest.approx(7 / 18)
    # weighted by reference support a=1, b=3, c=0: (1·2/3 + 3·1/2) / 4 = 13/24
    assert weighted_f1(preds, refs) == pytest.approx(13 / 24)
    # accuracy: positions 0 and 2 agree → 2/4
    assert accuracy(preds, refs) == 0.5


# A small tree: A > A1 > A11, and B.
_PARENT = {"A": None, "A1": "A", "A11": "A1", "B": None}


def _ancestors(label):
    out = []
    while _PARENT[label] is not None:
        label = _PARENT[label]
        out.append(label)
    return out


def test_hierarchical_prf_hand_computed():
    preds = ["A11", "B", None]
    refs = ["A1", "A1", "B"]
    # 1: P̂ = {A, A1, A11}, R̂ = {A, A1}  → overlap 2, |P̂| 3, |R̂| 2
    # 2: P̂ = {B},          R̂ = {A, A1}  → overlap 0, |P̂| 1, |R̂| 2
    # 3: P̂ = {} (None),    R̂ = {B}      → overlap 0, |P̂| 0, |R̂| 1
    # hP = 2/4 = 0.5, hR = 2/5 = 0.4, hF = 2·0.5·0.4/0.9 = 4/9
    prf = hierarchical_prf(preds, refs, _ancestors)
    assert isinstance(prf, PRF)
    assert prf == pytest.approx((0.5, 0.4, 4 / 9))
    assert hierarchical_f1(preds, refs, _ancestors) == pytest.approx(4 / 9)


def test_hierarchical_f1_same_whether_ancestors_includes_self():
    preds, refs = ["A11", "B", "A"], ["A1", "A1", "A11"]
    with_self = lambda label: [label, *_ancestors(label)]  # noqa: E731
    assert hierarchical_f1(preds, refs, with_self) == hierarchical_f1(preds, refs, _ancestors)
    assert hierarchical_f1(refs, refs, _ancestors) == 1.0


def test_hierarchical_f1_equals_flat_accuracy_without_hierarchy():
    # no ancestors at all: each set is {label}, so hP = hR = accuracy
    preds, refs = _random_labels(3)
    assert hierarchical_f1(preds, refs, lambda label: ()) == pytest.approx(accuracy(preds, refs))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracy_matches_sklearn(k):
    rng = np.random.default_rng(7)
    scores = rng.random((40, 6))  # [examples, classes], no ties
    refs = rng.integers(0, 6, 40)
    ranked = np.argsort(-scores, axis=1)  # class ids, best first
    expected = top_k_accuracy_score(refs, scores, k=k, labels=list(range(6)))
    assert top_k_accuracy([list(r) for r in ranked], refs.tolist(), k=k) == pytest.approx(expected)
    assert top_k_accuracy(ranked, refs, k=k) == pytest.approx(expected)  # numpy rows work too


def test_top_k_accuracy_hand_computed_and_bad_inputs():
    ranked = [["shoes", "boots"], ["hats"], []]
    # "boots" at rank 2: hit for k ≥ 2; "hats" at rank 1: hit; empty list: miss → k=1: 1/3, k=2: 2/3
    assert top_k_accuracy(ranked, ["boots", "hats", "socks"], k=1) == pytest.approx(1 / 3)
    assert top_k_accuracy(ranked, ["boots", "hats", "socks"], k=2) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="ranked list"):
        top_k_accuracy(["shoes"], ["shoes"], k=1)
    with pytest.raises(ValueError, match="at least 1"):
        top_k_accuracy([["a"]], ["a"], k=0)
