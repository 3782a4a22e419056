"""Deterministic train/validation split. Each record is ranked by sha256(seed, its canonical JSON)
(ties by position) and the lowest-ranked go to validation, so the same seed gives the same split on
any machine, a record keeps its side when others are added or removed (as far as the count
allows), and exact duplicates land on the same side. Both parts keep the input order."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from tunelab.data.hashing import canonical_json
from tunelab.data.records import Record


def validation_size(n: int, val: float | int) -> int:
    """How many of `n` records go to validation: a fraction in (0, 1) rounds to at least 1 and at
    most n-1; an integer count must be in [1, n-1]."""
    if n < 2:
        raise ValueError(f"Cannot split {n} record(s): a train/validation split needs at least 2.")
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise ValueError(f"Validation size must be a fraction or a count, got {val!r}.")
    if isinstance(val, float):
        if not 0.0 < val < 1.0:
            raise ValueError(f"Validation fraction must be between 0 and 1 (exclusive), got {val}.")
        return min(max(round(n * val), 1), n - 1)
    if not 1 <= val < n:
        raise ValueError(f"Validation count must be between 1 and {n - 1} for {n} records, got {val}.")
    return val


def _rank(seed: int, record: Record) -> bytes:
    return hashlib.sha256(f"{seed}\n{canonical_json(record)}".encode()).digest()


def train_val_split(
    records: Sequence[Record], val: float | int = 0.1, *, seed: int = 0
) -> tuple[list[Record], list[Record]]:
    """(train, validation). `val` is a fraction (float) or a count (int); see `validation_size`."""
    k = validation_size(len(records), val)
    order = sorted(range(len(records)), key=lambda i: (_rank(seed, records[i]), i))
    held = set(order[:k])
    train = [r for i, r in enumerate(records) if i not in held]
    validation = [r for i, r in enumerate(records) if i in held]
    return train, validation
