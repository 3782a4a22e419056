"""Reranking with a cross-encoder fine-tuned here from the packaged MiniLM (none ships in a package):
one epoch on 300 (question, review snippet, answers it?) pairs of the sample Q&A train split, saved
as a folder, loaded the way `--rerank FOLDER` loads it, and measured on held-out questions
(validation + test): the answering snippet ranks first far more often than with the untrained head.
The helpers (pairs, fine-tune) are in tests/cross_encoder_support.py."""

from __future__ import annotations

import numpy as np
import pytest
from cross_encoder_support import qa_groups, qa_pairs, save_cross_encoder
from rag_support import one_torch_thread  # noqa: F401 - fixture

from tunelab.rag import Hit, load_reranker, rerank

pytestmark = pytest.mark.slow  # a real (small) fine-tune: tens of seconds on a busy CPU


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("rerankers")
    pairs = qa_pairs("train")
    assert 250 <= len(pairs) <= 400 and {y for *_, y in pairs} == {0, 1}
    tuned = save_cross_encoder(root / "tuned", pairs, epochs=1, batch_size=32, lr=1e-4)
    untrained = save_cross_encoder(root / "untrained")  # the same seed: the head the tuned one started from
    return tuned, untrained


def mean_reciprocal_rank(reranker, groups) -> float:
    total = 0.0
    for question, snippets, positive in groups:
        scores = np.asarray(reranker.score(question, snippets))
        total += 1.0 / (1 + int(np.sum(np.delete(scores, positive) >= scores[positive])))  # ties count against
    return total / len(groups)


def test_fine_tuning_improves_mrr_on_held_out_questions(folders):
    held_out = qa_groups("validation") + qa_groups("test")
    assert len(held_out) >= 40  # other products than the training questions' (splits are by product)
    tuned, untrained = (load_reranker(str(f)) for f in folders)
    tuned_mrr, untrained_mrr = mean_reciprocal_rank(tuned, held_out), mean_reciprocal_rank(untrained, held_out)
    assert tuned_mrr >= 0.85, tuned_mrr
    assert tuned_mrr > untrained_mrr + 0.2, (tuned_mrr, untrained_mrr)


def test_rerank_moves_the_answering_snippet_up(folders):
    reranker = load_reranker(str(folders[0]))
    first = 0
    held_out = qa_groups("test")
    for question, snippets, positive in held_out:
        order = [i for i in range(len(snippets)) if i != positive] + [positive]  # the answer retrieved last
        hits = [Hit(str(i), snippets[i], score=1.0 - n / 10, meta={"source": f"snippet-{i}"})
                for n, i in enumerate(order)]
        reranked = rerank(question, hits, reranker)
        assert [h.score for h in reranked] == sorted((h.score for h in reranked), reverse=True)
        first += reranked[0].id == str(positive)
    assert first / len(held_out) >= 0.8, (first, len(held_out))
