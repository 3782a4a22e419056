"""Generation metrics: ROUGE-L, BERTScore (from token embeddings) and answerability F1.

Pure functions of (predictions, references). BERTScore's arithmetic lives in `bertscore_tokens`, a
function of two embedding matrices; `bertscore` takes the embedding function as an argument (see
`tunelab.models.embeddings` for one that runs the packaged MiniLM)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from tunelab.eval.metrics.checks import paired
from tunelab.eval.metrics.scores import PRF, Counts, harmonic_mean, safe_ratio

# texts → one [n_tokens, dim] matrix per text, special tokens ([CLS], [SEP]) left out
TokenEmbedder = Callable[[list[str]], Sequence[np.ndarray]]

_WORD = re.compile(r"[^\W_]+")


def rouge_tokens(text: str) -> list[str]:
    """Lower-cased runs of letters and digits; on ASCII text this is the `rouge-score` package's
    default tokenizer (non-alphanumerics split words, no stemming)."""
    return _WORD.findall(text.lower())


def lcs_length(a: Sequence, b: Sequence) -> int:
    """Length of the longest common subsequence, by the O(|a|·|b|) dynamic programme (two rows kept)."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def _rouge_l(prediction: str, reference: str) -> float:
    pred, ref = rouge_tokens(prediction), rouge_tokens(reference)
    lcs = lcs_length(pred, ref)
    return harmonic_mean(safe_ratio(lcs, len(pred)), safe_ratio(lcs, len(ref)))


def rouge_l(predictions: Iterable[str], references: Iterable[str | Sequence[str]]) -> float:
    """Mean ROUGE-L F-measure over examples. Per example, with token lists p and r and
    L = LCS(p, r): P = L / |p|, R = L / |r|, F = 2·P·R / (P + R) (β = 1, as `rouge-score` reports);
    0 when either text has no tokens. A list of references scores the best of them."""
    preds, refs = paired(predictions, references)
    total = 0.0
    for i, (p, r) in enumerate(zip(preds, refs)):
        alternatives = [r] if isinstance(r, str) else list(r)
        if not isinstance(p, str) or not alternatives or not all(isinstance(a, str) for a in alternatives):
            raise ValueError(f"example {i}: ROUGE-L needs a predicted string and a reference string (or list of them).")
        total += max(_rouge_l(p, a) for a in alternatives)
    return total / len(refs)


def bertscore_tokens(candidate: np.ndarray, reference: np.ndarray) -> PRF:
    """BERTScore of one pair from token embeddings (Zhang et al., 2020), without idf weights or
    baseline rescaling. candidate: [n, d], reference: [m, d]. With rows L2-normalised, S = C·Rᵀ [n, m]:

        P = (1/n) · Σᵢ maxⱼ Sᵢⱼ     R = (1/m) · Σⱼ maxᵢ Sᵢⱼ     F = 2·P·R / (P + R)

    Each token is greedily matched to its most similar token on the other side. An empty side scores 0.
    """
    c, r = np.asarray(candidate, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if c.ndim != 2 or r.ndim != 2 or c.shape[1] != r.shape[1]:
        raise ValueError(
            f"token embeddings must be two matrices [tokens, dim] of the same dim, got {c.shape} and {r.shape}."
        )
    if len(c) == 0 or len(r) == 0:
        return PRF(0.0, 0.0, 0.0)
    c = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    r = r / np.maximum(np.linalg.norm(r, axis=1, keepdims=True), 1e-12)
    sim = c @ r.T
    precision, recall = float(sim.max(axis=1).mean()), float(sim.max(axis=0).mean())
    return PRF(precision, recall, harmonic_mean(precision, recall))


def bertscore(predictions: Iterable[str], references: Iterable[str], embed: TokenEmbedder) -> PRF:
    """Mean BERTScore precision, recall and F1 over pairs (each from `bertscore_tokens`).

    `embed(texts)` returns one [tokens, dim] matrix per text; it is called once, on all predictions
    followed by all references, so it can batch. F here is the mean of per-pair F (what
    `bert_score.score(...)[2].mean()` gives), not the harmonic mean of the mean P and R.
    """
    preds, refs = paired(predictions, references)
    matrices = list(embed([*preds, *refs]))
    if len(matrices) != 2 * len(preds):
        raise ValueError(f"embed returned {len(matrices)} matrices for {2 * len(preds)} texts; it must return one per text.")
    scores = [bertscore_tokens(matrices[i], matrices[len(preds) + i]) for i in range(len(preds))]
    return PRF(*(float(np.mean(column)) for column in zip(*scores)))


def _flag(value: object, index: int, side: str) -> bool:
    if isinstance(value, (bool, np.bool_)) or value in (0, 1):
        return bool(value)
    raise ValueError(f"{side}[{index}] is {value!r}; answerability must be True/False (or 1/0).")


def answerability_f1(
    predictions: Iterable[bool],
    references: Iterable[bool],
    positive: bool = True,
) -> float:
    """Binary F1 of is_answerable flags, with `positive` (default True: "answerable") as the positive class:
    F1 = 2·TP / (2·TP + FP + FN); 0.0 when neither side has a positive (scikit-learn's zero_division=0)."""
    preds, refs = paired(predictions, references)
    tp = fp = fn = 0
    for i, (p, r) in enumerate(zip(preds, refs)):
        p_pos, r_pos = _flag(p, i, "predictions") == positive, _flag(r, i, "references") == positive
        tp += p_pos and r_pos
        fp += p_pos and not r_pos
        fn += r_pos and not p_pos
    return Counts(tp, fp, fn).prf().f1
