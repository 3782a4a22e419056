"""Every metric refuses inputs of different lengths (naming both lengths) and empty inputs."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.eval import metrics as m

# (metric, one good prediction, one good reference, extra keyword arguments)
CASES = [
    (m.accuracy, "a", "a", {}),
    (m.macro_f1, "a", "a", {}),
    (m.weighted_f1, "a", "a", {}),
    (m.per_class_counts, "a", "a", {}),
    (m.hierarchical_f1, "a", "a", {"ancestors": lambda label: ()}),
    (m.top_k_accuracy, ["a"], "a", {"k": 1}),
    (m.exact_match, "a", "a", {}),
    (m.token_f1, "a", "a", {}),
    (m.json_exact_match, {}, {}, {}),
    (m.slot_scores, {}, {}, {}),
    (m.rouge_l, "a", "a", {}),
    (m.bertscore, "a", "a", {"embed": lambda texts: [np.ones((1, 2))] * len(texts)}),
    (m.answerability_f1, True, True, {}),
    (m.recall_at_k, ["a"], {"a"}, {"k": 1}),
    (m.mrr, ["a"], {"a"}, {}),
    (m.ndcg_at_k, ["a"], {"a"}, {"k": 1}),
]
IDS = [case[0].__name__ for case in CASES]


@pytest.mark.parametrize(("metric", "pred", "ref", "kwargs"), CASES, ids=IDS)
def test_good_single_example_is_accepted(metric, pred, ref, kwargs):
    metric([pred], [ref], **kwargs)


@pytest.mark.parametrize(("metric", "pred", "ref", "kwargs"), CASES, ids=IDS)
def test_mismatched_lengths_name_both(metric, pred, ref, kwargs):
    with pytest.raises(ValueError, match=r"has 3 items but .* has 2"):
        metric([pred] * 3, [ref] * 2, **kwargs)


@pytest.mark.parametrize(("metric", "pred", "ref", "kwargs"), CASES, ids=IDS)
def test_empty_inputs_are_refused(metric, pred, ref, kwargs):
    with pytest.raises(ValueError, match="empty"):
        metric([], [], **kwargs)


def test_inputs_may_be_generators():
    assert m.accuracy((x for x in "ab"), iter("ab")) == 1.0
