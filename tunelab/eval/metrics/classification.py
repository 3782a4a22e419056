"""Classification metrics: accuracy, weighted / macro F1, hierarchical F1 and top-k accuracy.

Pure functions of (predictions, references); labels are any hashable values. Flat metrics agree
with scikit-learn (labels = union of predicted and reference labels, zero_division=0)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence, Set

from tunelab.eval.metrics.checks import cutoff, paired
from tunelab.eval.metrics.scores import PRF, Counts


def accuracy(predictions: Iterable[Hashable], references: Iterable[Hashable]) -> float:
    """Fraction of exact label matches: (1/N) · Σᵢ [predᵢ = refᵢ]."""
    preds, refs = paired(predictions, references)
    return sum(p == r for p, r in zip(preds, refs)) / len(refs)


def per_class_counts(predictions: Iterable[Hashable], references: Iterable[Hashable]) -> dict[Hashable, Counts]:
    """One-vs-rest TP/FP/FN for every label seen in either input, in order of first appearance.

    For label c: TP = #{i: predᵢ = refᵢ = c}, FP = #{i: predᵢ = c ≠ refᵢ}, FN = #{i: refᵢ = c ≠ predᵢ}.
    """
    preds, refs = paired(predictions, references)
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    labels = dict.fromkeys([*refs, *preds])
    for p, r in zip(preds, refs):
        if p == r:
            tp[r] += 1
        else:
            fp[p] += 1
            fn[r] += 1
    return {c: Counts(tp[c], fp[c], fn[c]) for c in labels}


def macro_f1(predictions: Iterable[Hashable], references: Iterable[Hashable]) -> float:
    """Unweighted mean of per-label F1 over the labels in either input: (1/|L|) · Σ_c F1_c.

    F1_c = 2·TP_c / (2·TP_c + FP_c + FN_c); a label that is only ever predicted scores 0, as in
    scikit-learn's `f1_score(average="macro")`.
    """
    counts = per_class_counts(predictions, references)
    return sum(c.prf().f1 for c in counts.values()) / len(counts)


def weighted_f1(predictions: Iterable[Hashable], references: Iterable[Hashable]) -> float:
    """Per-label F1 averaged with weights = reference support: Σ_c (n_c / N) · F1_c.

    n_c = TP_c + FN_c is how often c occurs in the references, so labels that are only predicted
    weigh 0 (scikit-learn's `f1_score(average="weighted")`).
    """
    counts = per_class_counts(predictions, references)
    total = sum(c.tp + c.fn for c in counts.values())
    return sum((c.tp + c.fn) * c.prf().f1 for c in counts.values()) / total


def hierarchical_prf(
    predictions: Iterable[Hashable | None],
    references: Iterable[Hashable],
    ancestors: Callable[[Hashable], Iterable[Hashable]],
) -> PRF:
    """Ancestor-augmented, micro-averaged hierarchical precision / recall / F1 (Kiritchenko et al., 2005).

    Each label y becomes the set Â(y) = {y} ∪ ancestors(y) (the callable may or may not include y
    itself; it is added either way). With P̂ᵢ = Â(predᵢ) and R̂ᵢ = Â(refᵢ):

        hP = Σᵢ |P̂ᵢ ∩ R̂ᵢ| / Σᵢ |P̂ᵢ|     hR = Σᵢ |P̂ᵢ ∩ R̂ᵢ| / Σᵢ |R̂ᵢ|     hF = 2·hP·hR / (hP + hR)

    A prediction of None (no usable label) is the empty set: it adds nothing to Σ|P̂ᵢ| and lowers hR.
    Map predicted ids the taxonomy does not know to None before calling, or `ancestors` raises.
    """
    preds, refs = paired(predictions, references)
    total = Counts(0, 0, 0)
    for i, (p, r) in enumerate(zip(preds, refs)):
        if r is None:
            raise ValueError(f"references[{i}] is None; every reference needs a label (only predictions may be None).")
        pred_set = set() if p is None else {p, *ancestors(p)}
        ref_set = {r, *ancestors(r)}
        overlap = len(pred_set & ref_set)
        total = total + Counts(overlap, len(pred_set) - overlap, len(ref_set) - overlap)
    return total.prf()


def hierarchical_f1(
    predictions: Iterable[Hashable | None],
    references: Iterable[Hashable],
    ancestors: Callable[[Hashable], Iterable[Hashable]],
) -> float:
    """hF of `hierarchical_prf` (see there for the formula)."""
    return hierarchical_prf(predictions, references, ancestors).f1


def top_k_accuracy(
    predictions: Iterable[Sequence[Hashable]],
    references: Iterable[Hashable],
    k: int = 5,
) -> float:
    """Fraction of examples whose reference is among the first k labels of the ranked prediction:
    (1/N) · Σᵢ [refᵢ ∈ rankedᵢ[:k]]. With ranked lists from scores sorted high to low this equals
    scikit-learn's `top_k_accuracy_score` (ties aside)."""
    k = cutoff(k)
    preds, refs = paired(predictions, references)
    hits = 0
    for i, (ranked, r) in enumerate(zip(preds, refs)):
        if isinstance(ranked, (str, bytes, Set, Mapping)) or not isinstance(ranked, Iterable):
            raise ValueError(
                f"predictions[{i}] is a {type(ranked).__name__}; top-k accuracy needs a ranked list of labels "
                "per example, best first."
            )
        hits += r in list(ranked)[:k]
    return hits / len(refs)
