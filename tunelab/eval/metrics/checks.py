"""Input checks shared by the metrics: paired inputs of equal, non-zero length and a valid cut-off k.

Each failure is a ValueError whose message says what was wrong with which argument."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def paired(
    predictions: Iterable[Any],
    references: Iterable[Any],
    names: tuple[str, str] = ("predictions", "references"),
) -> tuple[list[Any], list[Any]]:
    """Both inputs as lists, after checking they pair up one to one and are not empty."""
    preds, refs = list(predictions), list(references)
    if len(preds) != len(refs):
        raise ValueError(
            f"{names[0]} has {len(preds)} items but {names[1]} has {len(refs)}; "
            "they must pair up one to one, in the same order."
        )
    if not preds:
        raise ValueError(f"{names[0]} and {names[1]} are empty; a metric needs at least one example.")
    return preds, refs


def cutoff(k: int, name: str = "k") -> int:
    """A rank cut-off: an int of at least 1."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {k!r}.")
    return k
