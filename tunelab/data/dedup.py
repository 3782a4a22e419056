"""Remove duplicate records, keeping the first occurrence and the original order.

``exact`` compares whole records (kind, every field, every message). ``normalized`` compares them
after `normalize_text` on every string: Unicode NFKC, case-folded, punctuation removed, runs of
whitespace collapsed to one space and the ends stripped — so "Hello, World!" equals "hello world".
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tunelab.data.hashing import canonical_json
from tunelab.data.records import Record, canonical_dict

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class DedupResult:
    records: list[Record]
    removed: int


def normalize_text(text: str) -> str:
    """NFKC, casefold, drop Unicode punctuation (categories P*), collapse whitespace, strip."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    return _SPACE.sub(" ", text).strip()


def _normalized(value: Any) -> Any:
    if isinstance(value, str):
        return normalize_text(value)
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in value.items()}
    return value


def dedup_key(record: Record, mode: Literal["exact", "normalized"] = "exact") -> str:
    """The text two records share exactly when `dedup` treats them as duplicates."""
    if mode == "exact":
        return canonical_json(record)
    if mode == "normalized":
        return json.dumps(_normalized(canonical_dict(record)), sort_keys=True, ensure_ascii=False)
    raise ValueError(f"Unknown dedup mode '{mode}': use 'exact' or 'normalized'")


def dedup(records: Sequence[Record], mode: Literal["exact", "normalized"] = "exact") -> DedupResult:
    """Records with later duplicates removed (first occurrence kept, order kept), and how many went."""
    seen: set[str] = set()
    kept: list[Record] = []
    for record in records:
        key = dedup_key(record, mode)
        if key not in seen:
            seen.add(key)
            kept.append(record)
    return DedupResult(kept, len(records) - len(kept))
