"""Decontamination: does a training text share a word n-gram with an evaluation set? The measure
model reports use (GPT-3 and after): the texts lower-cased, punctuation dropped, split into words; a
record overlapping any `n`-gram (13 by default) of the evaluation texts is contaminated. An
evaluation text shorter than `n` words but at least `min_words` long counts as one gram of its own
length (a short question copied whole is a leak too); shorter ones are ignored (they are common
phrases, not leaks)."""

from __future__ import annotations

from collections.abc import Iterable

from tunelab.data.dedup import normalize_text


def words(text: str) -> list[str]:
    return normalize_text(text).split()


class NgramIndex:
    """The n-grams of an evaluation set; `overlap(text)` is the first one `text` shares, or None."""

    def __init__(self, texts: Iterable[str], n: int = 13, min_words: int = 8) -> None:
        if n < 1 or min_words < 1:
            raise ValueError(f"n ({n}) and min_words ({min_words}) must be at least 1.")
        self.n, self.min_words = n, min_words
        self.grams: dict[int, set[str]] = {}  # gram length -> grams, " "-joined
        self.texts = 0
        for text in texts:
            w = words(text)
            self.texts += 1
            if len(w) >= n:
                self.grams.setdefault(n, set()).update(" ".join(w[i:i + n]) for i in range(len(w) - n + 1))
            elif len(w) >= min_words:
                self.grams.setdefault(len(w), set()).add(" ".join(w))

    def __len__(self) -> int:
        return sum(len(g) for g in self.grams.values())

    def overlap(self, text: str) -> str | None:
        w = words(text)
        for size, grams in sorted(self.grams.items(), reverse=True):
            for i in range(len(w) - size + 1):
                gram = " ".join(w[i:i + size])
                if gram in grams:
                    return gram
        return None
