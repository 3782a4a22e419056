"""Result types shared by the metrics: precision/recall/F1 triples and the counts they come from."""

from __future__ import annotations

from typing import NamedTuple


def safe_ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, and 0.0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    return numerator / denominator if denominator else 0.0


def harmonic_mean(precision: float, recall: float) -> float:
    """F1 = 2·P·R / (P + R), and 0.0 where P + R = 0."""
    return safe_ratio(2 * precision * recall, precision + recall)


class PRF(NamedTuple):
    """Precision, recall and their harmonic mean F1."""

    precision: float
    recall: float
    f1: float


class Counts(NamedTuple):
    """True positives, false positives and false negatives; `.prf()` turns them into scores.

    P = tp / (tp + fp), R = tp / (tp + fn), F1 = 2·P·R / (P + R); each 0.0 where its denominator is 0.
    """

    tp: int
    fp: int
    fn: int

    def __add__(self, other: object) -> Counts:  # type: ignore[override]  # sum counts, not concatenate tuples
        if not isinstance(other, Counts):
            return NotImplemented
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def prf(self) -> PRF:
        precision = safe_ratio(self.tp, self.tp + self.fp)
        recall = safe_ratio(self.tp, self.tp + self.fn)
        return PRF(precision, recall, harmonic_mean(precision, recall))
