"""Simple dataset statistics: record counts by kind, label counts for classification, and length
statistics (min / mean / p50 / p95 / max, a histogram) in tokens of any tokenizer ``str -> list[int]``
(pass ``list`` to count characters). Percentiles interpolate linearly between ranks (numpy's default)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tunelab.data.records import ChatRecord, Message, PreferenceRecord, Record

Tokenize = Callable[[str], Sequence[object]]


@dataclass(frozen=True)
class LengthStats:
    min: int
    mean: float
    p50: float
    p95: float
    max: int


@dataclass(frozen=True)
class DatasetStats:
    count: int
    kinds: dict[str, int] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    lengths: LengthStats | None = None


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of ascending values, interpolating linearly between ranks."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def length_stats(lengths: Sequence[int]) -> LengthStats:
    """min, mean, p50, p95, max of a non-empty list of lengths."""
    values = sorted(lengths)
    return LengthStats(values[0], sum(values) / len(values), percentile(values, 50), percentile(values, 95), values[-1])


def _joined(messages: Sequence[Message]) -> str:
    return "\n".join(m.content for m in messages)


def record_text(record: Record) -> str:
    """The text a record trains on, messages joined by newlines (a preference pair: prompt and chosen)."""
    if isinstance(record, ChatRecord):
        return _joined(record.messages)
    if isinstance(record, PreferenceRecord):
        return _joined([*record.prompt, *record.chosen])
    return record.text


def record_length(record: Record, tokenize: Tokenize) -> int:
    """Tokens in `record_text`; for a preference pair the longer of prompt+chosen and prompt+rejected."""
    if isinstance(record, PreferenceRecord):
        return max(len(tokenize(_joined([*record.prompt, *answer]))) for answer in (record.chosen, record.rejected))
    return len(tokenize(record_text(record)))


def dataset_stats(records: Sequence[Record], tokenize: Tokenize | None = None) -> DatasetStats:
    """Counts, labels, and token-length statistics when a tokenizer is given (and records exist)."""
    kinds = Counter(r.kind for r in records)
    labels = Counter(str(r.label) for r in records if r.kind == "classification")  # type: ignore[union-attr]
    lengths = length_stats([record_length(r, tokenize) for r in records]) if tokenize and records else None
    return DatasetStats(len(records), dict(kinds), dict(sorted(labels.items())), lengths)


def length_histogram(lengths: Sequence[int], bins: int = 20) -> tuple[list[int], list[int]]:
    """Lengths counted in at most `bins` equal-width integer bins: (edges, counts), bin i holding
    edges[i] <= length < edges[i + 1]; len(edges) == len(counts) + 1. No lengths: ([], [])."""
    if bins < 1:
        raise ValueError("bins must be at least 1")
    if not lengths:
        return [], []
    lo, hi = min(lengths), max(lengths)
    width = max(1, -(-(hi - lo + 1) // bins))  # ceil: every length falls in one of `bins` bins
    n = -(-(hi - lo + 1) // width)
    counts = [0] * n
    for x in lengths:
        counts[(x - lo) // width] += 1
    return [lo + i * width for i in range(n + 1)], counts
