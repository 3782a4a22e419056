"""Grounded QA: the answer's factual part is copied from the sources, not written by the model.

Small local models cite the right source and then state a different number. In grounded mode the
answer is a sentence of the sources, chosen, not generated:
1. every source is cut into sentences (`candidate_spans`, with character offsets);
2. BM25 over those sentences (words cut to a crude stem, so "weigh" finds "weighs") with the
   question as query keeps the `candidates` best, each with the sentence after it in its source
   (the fact often follows the sentence that names the subject: "The Trailblazer 2 is a tent. It
   weighs 2.3 kg."); a sentence of fewer than three words (a heading) is never a candidate;
3. the model ranks them by likelihood the way classification ranks categories: each sentence's
   mean log-probability as the reply to "answer with the sentence that answers the question",
   minus its mean log-probability when no question is asked (what the question adds, not how easy
   the sentence is to copy: pointwise mutual information). A model that cannot score (an upstream)
   picks one under a choice constraint over the candidates instead;
   BM25 (scaled to 0..1) adds to that, and a question that asks for a quantity ("how many",
   "how much", "weigh", "cost", ...) lowers every sentence that holds no number of its own;
4. the answer is that sentence verbatim, returned with its source number and offsets (`Quote`).

No candidate (no content word of the question in any sentence), or a best sentence the question
makes clearly less likely (`MIN_LIFT`), is "not answerable".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tunelab.engine.types import Constraint
from tunelab.rag.bm25 import tokenize
from tunelab.tasks.ecommerce.prompts import quote_messages
from tunelab.tasks.model import TaskModel

CANDIDATES = 5
MIN_LIFT = -0.5  # mean log-probability per token the question may take off the best sentence
MIN_WORDS = 3
NO_NUMBER_PENALTY = 1.0
_QUANTITY = re.compile(r"\bhow (many|much|long|heavy|big|far|old|tall|wide|large|soon|fast)\b|\bweigh|\bcost|\bprice"
                       r"|\bsize\b|\bdimension|\bcapacity|\bwhat time\b|\bwhen\b|\bhow often\b", re.I)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def _new_numbers(text: str, question: str) -> bool:
    """Whether `text` holds a number the question does not (an answer to "how much", not a model name)."""
    return bool(set(_NUMBER.findall(text)) - set(_NUMBER.findall(question)))
MAX_SPAN_CHARS = 400  # a longer "sentence" (a table row, a run-on list) is cut at ; and ,
_BOUNDARY = re.compile(r"[.!?]+(?=\s|$)|\n")  # a sentence ends at . ! ? before a space, or a line ends


@dataclass(frozen=True)
class Quote:
    """A span of one source: `source` is 1-based, `start`/`end` character offsets in that source."""

    source: int
    start: int
    end: int
    text: str

    def to_dict(self) -> dict:
        return {"source": self.source, "start": self.start, "end": self.end, "text": self.text}


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of the sentence text[start:end] trimmed, or of its ;/, parts when too long."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in "-*•"):
        end -= 1
    if end - start <= MAX_SPAN_CHARS:
        return [(start, end)] if end > start else []
    cut = max(text.rfind(sep, start, start + MAX_SPAN_CHARS) for sep in (";", ","))
    cut = cut + 1 if cut > start else start + MAX_SPAN_CHARS
    return _pieces(text, start, cut) + _pieces(text, cut, end)


def candidate_spans(sources: Sequence[str]) -> list[Quote]:
    """Every sentence of every source (at most MAX_SPAN_CHARS each), with its offsets."""
    spans = []
    for n, source in enumerate(sources, start=1):
        ends = [m.end() for m in _BOUNDARY.finditer(source)] + [len(source)]
        for start, end in zip([0] + ends, ends):
            for a, b in _pieces(source, start, end):
                if len(re.findall(r"\w+", source[a:b])) >= MIN_WORDS:
                    spans.append(Quote(n, a, b, source[a:b]))
    return spans


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[:-len(suffix)]
    return word


# Words of how a question is put, not of what it is about (bm25s' English stopwords keep them).
_ASKING = frozenset("how many much do does did doing done you your yours i me my we our us what which when where who "
                    "whom whose why can could would should will shall may might must is are was were be been have has "
                    "had there here any some get got please tell know want need".split())


def _words(text: str) -> list[str]:
    return [_stem(w) for w in tokenize(text) if w not in _ASKING]


def bm25_scores(question: str, spans: Sequence[Quote], k1: float = 1.2, b: float = 0.75) -> list[float]:
    """BM25 of each span for the question's words (stopwords out, crude stems), idf over the spans."""
    docs = [_words(s.text) for s in spans]
    query = set(_words(question))
    if not docs or not query:
        return [0.0] * len(spans)
    df = Counter(w for d in docs for w in set(d))
    avg = sum(map(len, docs)) / len(docs) or 1.0
    out = []
    for d in docs:
        tf = Counter(d)
        out.append(sum(math.log(1 + (len(docs) - df[w] + 0.5) / (df[w] + 0.5)) * tf[w] * (k1 + 1)
                       / (tf[w] + k1 * (1 - b + b * len(d) / avg)) for w in query if tf[w]))
    return out


@dataclass(frozen=True)
class Grounded:
    quote: Quote | None  # None: not answerable from the sources
    candidates: list[tuple[Quote, float]]  # what was ranked, best first, with the ranking score


async def ground(model: TaskModel, question: str, sources: Sequence[str], *,
                 candidates: int = CANDIDATES) -> Grounded:
    """The sentence of `sources` that answers `question` (see the module's docstring)."""
    spans = candidate_spans(sources)
    lexical = bm25_scores(question, spans)
    hits = sorted((i for i in range(len(spans)) if lexical[i] > 0), key=lambda i: -lexical[i])[:candidates]
    if not hits:
        return Grounded(None, [])
    after = [i + 1 for i in hits if i + 1 < len(spans) and spans[i + 1].source == spans[i].source]
    ranked = list(dict.fromkeys(hits + after))
    pool = [spans[i] for i in ranked]
    texts = [q.text for q in pool]
    asked = await model.score(quote_messages(question, list(sources)), texts, mean=True)
    if asked is None:  # no likelihoods (an upstream): its pick under a choice constraint
        written = await model.complete(quote_messages(question, list(sources)), max_tokens=256,
                                       constraint=Constraint(kind="choice", choices=tuple(dict.fromkeys(texts))))
        chosen = next((q for q in pool if q.text == written.strip()), pool[0])
        return Grounded(chosen, [(q, float(q is chosen)) for q in pool])
    unasked = await model.score(quote_messages("", list(sources)), texts, mean=True)
    pmi = [a - u for a, u in zip(asked, unasked)]
    # The ranking: the question's lift of each sentence, BM25 scaled to 0..1, and the answer type.
    top_lex = max(lexical[i] for i in ranked)
    quantity = bool(_QUANTITY.search(question))
    score = [p + lexical[i] / top_lex - (NO_NUMBER_PENALTY if quantity and not _new_numbers(spans[i].text, question)
                                          else 0.0) for p, i in zip(pmi, ranked)]
    order = sorted(range(len(pool)), key=lambda j: -score[j])
    best = order[0]
    quote = pool[best] if pmi[best] > MIN_LIFT else None
    return Grounded(quote, [(pool[j], score[j]) for j in order])
