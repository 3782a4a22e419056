"""Rule-based quality filters over a record's question and answer (`record_text.question_answer`),
checked in order, the first that fails naming the step and why: empty, too_short, too_long
(characters of the answer), repeats_question (the answer is the question again: difflib ratio of the
normalised texts), repeated_ngrams (a looping answer: the share of its word n-grams that occur more
than once) and language (the answer in another language than the question, `language.py`)."""

from __future__ import annotations

from difflib import SequenceMatcher

from pydantic import BaseModel, ConfigDict, Field

from tunelab.data.dedup import normalize_text
from tunelab.data.language import language_mismatch

RULE_STEPS = ("empty", "too_short", "too_long", "repeats_question", "repeated_ngrams", "language")


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_chars: int = Field(5, ge=0, description="Shortest answer kept, in characters.")
    max_chars: int = Field(8000, ge=1, description="Longest answer kept, in characters.")
    echo_ratio: float = Field(0.9, gt=0, le=1, description="An answer this similar to its question repeats it.")
    ngram: int = Field(3, ge=1, description="Word n-grams the repetition check counts.")
    max_repeated: float = Field(0.3, gt=0, le=1, description="Largest share of an answer's n-grams that may repeat.")
    language: bool = Field(True, description="Remove answers in another language than their question.")


def repeated_share(words: list[str], n: int) -> float:
    """The share of the word n-grams that are repeats: 1 - distinct / all (0 for under n words)."""
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def rule_failure(question: str, answer: str, rules: Rules) -> tuple[str, str] | None:
    """(step, why) of the first rule the record fails, or None when it passes them all."""
    text = answer.strip()
    if not text:
        return "empty", "the answer is empty"
    if len(text) < rules.min_chars:
        return "too_short", f"the answer has {len(text)} characters (fewer than {rules.min_chars})"
    if len(text) > rules.max_chars:
        return "too_long", f"the answer has {len(text)} characters (more than {rules.max_chars})"
    asked, said = normalize_text(question), normalize_text(text)
    if asked and said:
        ratio = SequenceMatcher(None, asked, said, autojunk=False).ratio()
        if ratio >= rules.echo_ratio:
            return "repeats_question", f"the answer repeats the question (similarity {ratio:.2f})"
    words = said.split()
    if len(words) >= 3 * rules.ngram:  # a short answer has too few n-grams to say it loops
        share = repeated_share(words, rules.ngram)
        if share > rules.max_repeated:
            return "repeated_ngrams", f"{share:.0%} of its word {rules.ngram}-grams repeat"
    if rules.language and question.strip():
        why = language_mismatch(question, text)
        if why:
            return "language", why
    return None
