"""Whether an answer states the fact, and whether its citations hold it.

The key of a reference answer is what a user checks: its numbers when it has any ("45 days",
"11.50 EUR" -> 45, 11.50), else its content words. `states_fact(answer, reference)`: every number
of the key is in the answer, or, for a key of words, at least half of them are. `fact_recall` is
the share of answers that state their reference's fact; `citation_precision` the share of cited
sources that hold it (the answer's citations checked against the sources' texts).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tunelab.eval.metrics.extraction import normalize_answer

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_FILLER = frozenset("is are was were be it its this that of to in on for with and or yes no not you your can "
                    "will do does".split())


def _numbers(text: str) -> set[str]:
    return {n.replace(",", ".").rstrip("0").rstrip(".") if "." in n or "," in n else n for n in _NUMBER.findall(text)}


def key_of(reference: str) -> tuple[set[str], set[str]]:
    """(numbers, content words) of `reference`; the words count only when there is no number."""
    numbers = _numbers(reference)
    words = set() if numbers else {w for w in normalize_answer(reference).split() if w not in _FILLER}
    return numbers, words


def states_fact(answer: str, reference: str) -> bool:
    numbers, words = key_of(reference)
    if numbers:
        return numbers <= _numbers(answer)
    if not words:
        return False
    said = set(normalize_answer(answer).split())
    return len(words & said) * 2 >= len(words)


def fact_recall(answers: Sequence[str], references: Sequence[str]) -> float:
    """The share of `answers` that state the fact of their reference (nan for none)."""
    if not answers:
        return float("nan")
    return sum(states_fact(a, r) for a, r in zip(answers, references)) / len(answers)


def citation_precision(citations: Sequence[Sequence[int]], sources: Sequence[Sequence[str]],
                       references: Sequence[str]) -> float:
    """Over every citation given (1-based source numbers), the share whose source states the
    reference's fact; nan when nothing was cited."""
    cited = held = 0
    for numbers, texts, ref in zip(citations, sources, references):
        for n in numbers:
            if 1 <= n <= len(texts):
                cited += 1
                held += states_fact(texts[n - 1], ref)
    return held / cited if cited else float("nan")
