"""Generation metrics: ROUGE-L and BERTScore by hand, answerability F1 against scikit-learn,
and BERTScore on the packaged MiniLM (loaded once for the module)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import f1_score

from tunelab.eval.metrics import answerability_f1, bertscore, bertscore_tokens, lcs_length, rouge_l, rouge_tokens


def test_lcs_length():
    assert lcs_length("ABCBDAB", "BDCABA") == 4  # the textbook case: BCBA
    assert lcs_length([], ["a"]) == 0
    assert lcs_length(list("abc"), list("abc")) == 3


def test_rouge_l_hand_computed():
    preds = ["The cat sat on the mat.", "police killed the gunman"]
    refs = ["the cat is on the mat", "the gunman killed police"]
    # 1: 6 tokens each, LCS = "the cat on the mat" = 5 → P = R = 5/6 → F = 5/6
    # 2: 4 tokens each, LCS = "the gunman" = 2 → P = R = 1/2 → F = 1/2   (Lin 2004's example)
    # mean = (5/6 + 1/2) / 2 = 2/3
    assert rouge_l(preds, refs) == pytest.approx(2 / 3)
    # P ≠ R: pred [a, b] vs ref [a, x, b, y]: LCS 2 → P = 1, R = 1/2 → F = 2/3
    assert rouge_l(["a b"], ["a x b y"]) == pytest.approx(2 / 3)
    # best of several references; no tokens scores 0
    assert rouge_l(["a b", "!!"], [["x", "a b"], "a"]) == pytest.approx(0.5)
    assert rouge_tokens("Hello, World! It's 5pm") == ["hello", "world", "it", "s", "5pm"]


def test_bertscore_tokens_hand_computed():
    c = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])  # candidate [3, 2]
    r = np.array([[2.0, 0.0], [1.0, 1.0]])  # reference [2, 2]; rows become [1, 0] and [s, s], s = 1/√2
    # S = [[1, s], [0, s], [-1, -s]]
    # P = mean of row maxima (1, s, -s) = 1/3
    # R = mean of column maxima (1, s) = (1 + s)/2
    s = 1 / math.sqrt(2)
    p, rc = 1 / 3, (1 + s) / 2
    assert bertscore_tokens(c, r) == pytest.approx((p, rc, 2 * p * rc / (p + rc)))
    assert bertscore_tokens(r, r) == pytest.approx((1.0, 1.0, 1.0))
    assert bertscore_tokens(np.zeros((0, 2)), r) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="same dim"):
        bertscore_tokens(np.ones((2, 3)), r)


def _one_hot_words(texts):
    """An exact embedding: each word its own axis, so cosine similarity is 1 for the same word, else 0."""
    vocab = {w: i for i, w in enumerate(sorted({w for t in texts for w in t.split()}))}
    return [np.eye(len(vocab))[[vocab[w] for w in t.split()]].reshape(-1, len(vocab)) for t in texts]


def test_bertscore_with_given_embedding_function():
    # 1: [a, b] vs [a, c]: P = (1 + 0)/2, R = (1 + 0)/2 → F = 1/2
    # 2: [a] vs [a, b]: P = 1, R = 1/2 → F = 2/3
    # means: P = 3/4, R = 1/2, F = (1/2 + 2/3)/2 = 7/12
    assert bertscore(["a b", "a"], ["a c", "a b"], _one_hot_words) == pytest.approx((0.75, 0.5, 7 / 12))
    with pytest.raises(ValueError, match="one per text"):
        bertscore(["a"], ["b"], lambda texts: [])


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("positive", [True, False])
def test_answerability_f1_matches_sklearn(seed, positive):
    rng = np.random.default_rng(seed)
    refs = (rng.random(50) < 0.6).tolist()
    preds = [r if rng.random() < 0.7 else not r for r in refs]
    expected = f1_score(refs, preds, pos_label=positive, zero_division=0)
    assert answerability_f1(preds, refs, positive=positive) == pytest.approx(expected)


def test_answerability_f1_edge_cases():
    # TP 1 (index 0), FP 1 (index 1), FN 1 (index 2) → 2/(2+1+1) = 1/2; 1/0 accepted
    assert answerability_f1([1, True, False, False], [True, 0, True, False]) == 0.5
    assert answerability_f1([False, False], [False, False]) == 0.0  # no positive anywhere
    with pytest.raises(ValueError, match=r"predictions\[0\] is 'yes'"):
        answerability_f1(["yes"], [True])


@pytest.fixture(scope="module")
def minilm():
    from tunelab.models.embeddings import token_embedder

    return token_embedder()


def test_minilm_token_embeddings_leave_out_special_tokens(minilm):
    short, long = "hi", "The cat sat on the mat."
    alone = minilm([short])
    batched = minilm([long, short])  # "hi" padded to the long text's length
    assert batched[0].shape == (7, 384)  # the cat sat on the mat . — no [CLS]/[SEP]
    assert alone[0].shape == (1, 384)
    np.testing.assert_allclose(batched[1], alone[0], atol=1e-5)


def test_bertscore_on_minilm_ranks_a_paraphrase_above_an_unrelated_sentence(minilm):
    same = bertscore(["The cat sat on the mat."], ["The cat sat on the mat."], minilm)
    assert same == pytest.approx((1.0, 1.0, 1.0), abs=1e-5)
    paraphrase = bertscore(["A cat was sitting on the mat."], ["The cat sat on the mat."], minilm)
    unrelated = bertscore(["Stock markets fell sharply today."], ["The cat sat on the mat."], minilm)
    assert paraphrase.f1 > unrelated.f1 + 0.1
