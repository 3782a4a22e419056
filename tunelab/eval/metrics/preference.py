"""Preference metrics over paired scores: for pair i, cᵢ is the score a model gives the chosen answer
and rᵢ the one it gives the rejected answer (e.g. length-normalised log-likelihoods). A score that is
missing (None or NaN: the model failed on that pair) never counts as preferring the chosen answer."""

from __future__ import annotations

import math
from collections.abc import Iterable

from tunelab.eval.metrics.checks import paired


def _known(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def preference_accuracy(chosen: Iterable[float | None], rejected: Iterable[float | None]) -> float:
    """Share of pairs whose chosen answer scores strictly higher: (1/N) · Σᵢ [cᵢ > rᵢ] over all N
    pairs (a tie, or a missing score, is not a preference for the chosen answer)."""
    c, r = paired(chosen, rejected, ("chosen", "rejected"))
    return sum(1 for a, b in zip(c, r) if _known(a) and _known(b) and a > b) / len(c)


def preference_margin(chosen: Iterable[float | None], rejected: Iterable[float | None]) -> float:
    """Mean score difference over the M pairs with both scores: (1/M) · Σᵢ (cᵢ − rᵢ); NaN when M = 0."""
    c, r = paired(chosen, rejected, ("chosen", "rejected"))
    diffs = [a - b for a, b in zip(c, r) if _known(a) and _known(b)]
    return sum(diffs) / len(diffs) if diffs else math.nan
