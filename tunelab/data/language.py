"""A cheap guess at a text's language, to catch an answer written in another language than its
question (no model, no download): the writing system of most of its letters (Cyrillic, Greek,
Arabic, Hebrew, Han, Japanese kana, Hangul, Devanagari, Thai, ...), and for Latin script the
language whose common words it uses most (English, French, German, Spanish, Italian, Portuguese,
Dutch). `guess_language` says None when the text is too short or the evidence too thin."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_STOPWORDS = {
    "English": "the and is are of to in it that with for you this was be on not have what can your from how does",
    "French": "le la les et est des une un du dans pour que qui pas vous avec sur ce au sont nous mais ou très",
    "German": "der die das und ist nicht ein eine mit für auf den dem sie ich zu von es sind wie auch oder wird",
    "Spanish": "el los las y es en una que por para con del se no su al lo como está son muy pero más",
    "Italian": "il gli le è di che una per con non della sono si come anche questo questa nel alla più",
    "Portuguese": "o os as é do da que um uma para com não em no na se por são você mais muito ao",
    "Dutch": "het een en is van dat niet met voor op zijn ik je te wat ook er maar dit bij wordt",
}
_WORDS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_SCRIPTS = {"CJK": "Han", "HIRAGANA": "Japanese", "KATAKANA": "Japanese", "HANGUL": "Korean"}
MIN_WORDS = 4  # fewer words than this: no guess for a Latin-script text
MIN_HITS = 2  # common words the winning language needs


def script(ch: str) -> str | None:
    """The writing system of one letter (the first word of its Unicode name), None for a non-letter."""
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    first = name.split(" ", 1)[0] if name else ""
    return _SCRIPTS.get(first, first.capitalize() or None)


def dominant_script(text: str) -> str | None:
    counts = Counter(s for s in map(script, text) if s)
    if not counts:
        return None
    if counts.get("Japanese", 0) * 10 >= sum(counts.values()):  # Japanese mixes kanji with kana
        return "Japanese"
    return counts.most_common(1)[0][0]


def guess_language(text: str) -> str | None:
    """A language name ("English", "French", ...), a script name for a non-Latin text ("Cyrillic",
    "Han"), or None when unsure."""
    writing = dominant_script(text)
    if writing is None or writing != "Latin":
        return writing
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) < MIN_WORDS:
        return None
    hits = Counter({lang: sum(w in vocab for w in words) for lang, vocab in _WORDS.items()})
    (best, n), (_, second) = hits.most_common(2)
    return best if n >= MIN_HITS and n >= 1.5 * second + 1 else None


def language_mismatch(question: str, answer: str) -> str | None:
    """Why the answer looks like another language than the question, or None (same, or unsure)."""
    asked, answered = guess_language(question), guess_language(answer)
    if asked is None or answered is None or asked == answered:
        return None
    return f"the answer looks {answered}, the question {asked}"
