"""The classify request's candidate options: per-source budgets with their defaults, length
normalisation, and a request that leaves classify no candidate source refused."""

import pytest
from pydantic import ValidationError

from tunelab.serve.tasks_protocol import ClassifyRequest


def test_classify_request_defaults_to_the_union_of_three_sources():
    r = ClassifyRequest(model="m", input="Trail running shoes")
    assert (r.candidates, r.knn_candidates, r.bm25_candidates, r.length_normalized) == (20, 10, 10, False)
    r = ClassifyRequest(model="m", input="x", candidates=0, knn_candidates=0, bm25_candidates=5, length_normalized=True)
    assert (r.candidates, r.bm25_candidates, r.length_normalized) == (0, 5, True)


@pytest.mark.parametrize("fields, message", [
    ({"candidates": 0, "knn_candidates": 0, "bm25_candidates": 0}, "all 0"),
    ({"knn_candidates": -1}, "knn_candidates"),
    ({"bm25_candidates": 101}, "bm25_candidates"),
])
def test_classify_request_refuses_budgets_it_cannot_use(fields, message):
    with pytest.raises(ValidationError, match=message):
        ClassifyRequest(model="m", input="x", **fields)
