"""Grounded QA: the answer's factual part is copied from the sources, not written by the model.

Small local models cite the right source and then state a different number. In grounded mode the
answer is a sentence of the sources, chosen, not generated:
1. every source is cut into sentences and list items (`candidate_spans`, with character offsets); a
   line of fewer than three words that is neither a list item nor "key: value" (a heading) is never
   a candidate, nor is a source's title line over the rest ("Hydrating Day Cream SPF 30"); a list
   item of one word ("- PayPal") and a line such as "Monday: closed" are;
2. each candidate is read under its source's title and its section's heading (`_context`: "Cast Iron
   Skillet > Specifications" makes "- Weight: 2.6 kg" the skillet's weight) and found two ways:
   BM25 over its words (cut to a crude stem, so "weigh" finds "weighs"; the question's words plus
   what its kind of answer is called, `expand_question`) and, with an embedder (the packaged MiniLM
   by default), by the cosine of its embedding with the question's ("how heavy" finds "Weight",
   "run out" finds "valid for"); the `candidates` best of each, each with the sentence after it in its source (the fact
   often follows the sentence that names the subject), and with an embedder the `candidates` nearest
   of those that state the kind of value asked for, make the pool;
3. the pool is ranked by what each signal says, on one scale: the model's query likelihood (each
   candidate, read with its title and heading, as a passage, and the mean log-probability per token
   of the question as the reply to "write the question this passage answers": `asks_messages`, the
   way classification ranks categories by likelihood, but asking which sentence makes the question
   likely, so every candidate is scored on the same text), COSINE_WEIGHT times the cosine and
   LEXICAL_WEIGHT times BM25 scaled to 0..1. What the question asks for (`answer_types`) moves it: a
   question that asks for a quantity ("how many", "how much", "weigh", "cost", ...) lowers every
   sentence that holds no number of its own, one that asks for a kind of value (a duration, a price, a
   weight, a time of day) raises every sentence that states one (a phone number or an email lowers
   every sentence without one), a line for the region the question names goes up and one for
   another region down (`regions`), "how many pages" raises "Pages: 288", a "key: value" line whose
   key is the attribute asked for ("how waterproof": "Waterproofing: ...") goes up, and a sentence
   that is itself a question (an FAQ's) is never the answer (the one after it is in the pool). A
   model that cannot score (an upstream) picks one under a choice constraint over the pool instead;
4. the answer is that sentence verbatim, returned with its source number and offsets (`Quote`), and
   the next (else previous) sentence of its paragraph with it when that one states the kind of value
   asked for and the winner does not (`widen`); a list item is answered as "<the line that introduces
   its list>: <item>" (the quote stays the item).

Not answerable: no candidate at all, or a best sentence whose cosine with the question is below
MIN_COSINE (nothing in the sources is about it), unless it holds the phone number or email asked
for. The weights and rules were chosen on small shops' pages and checked on shops the code had
never seen (tests/integration/shop_pages/README.md says which; docs/rag.md has the figures).
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunelab.engine.types import Constraint
from tunelab.models.embeddings import shared_sentence_embedder
from tunelab.models.torch_threads import run_torch
from tunelab.rag.answer_types import AskedKind, expand_question, regions
from tunelab.rag.bm25 import tokenize
from tunelab.rag.embed import Embedder
from tunelab.tasks.ecommerce.prompts import asks_messages, quote_messages
from tunelab.tasks.model import TaskModel

CANDIDATES = 5  # from each of BM25 and the embedding (5 and 8 chose the same answers on the shops' questions)
MIN_COSINE = 0.35  # MiniLM: below it, no sentence of the sources is about the question
MIN_WORDS = 3
HEADING_MAX_WORDS = 6
COSINE_WEIGHT = 8.0
LEXICAL_WEIGHT = 1.0
ASKED_WEIGHT = 1.0
ASKS_BACK_PENALTY = 100.0  # a sentence that is itself a question (an FAQ's) is no answer: the one after it is
KEY_WEIGHT = 1.0  # a "key: value" line whose key the question names ("how waterproof" -> "Waterproofing: ...")
REGION_WEIGHT = 1.0  # a line for the region the question names, up; one for another region only, down
_BULLET = re.compile(r"\s*(?:[-*•]|\d+[.)])\s+")
TITLE_MAX_CHARS = 80
MAX_SPAN_CHARS = 400  # a longer "sentence" (a table row, a run-on list) is cut at ; and ,
_BOUNDARY = re.compile(r"[.!?]+(?=\s|$)|\n")  # a sentence ends at . ! ? before a space, or a line ends
# ... but not at the dot of an abbreviation: "10 a.m. - 6 p.m.", "e.g. a kettle", "approx. 2 kg", "No. 5";
# one of single letters ("p.m.") still ends a sentence when a capital follows ("8 p.m. Closed on Sundays"),
# unless the capital starts a day or a month ("before 1 p.m. Monday to Thursday")
_ABBREVIATION = re.compile(r"\b(?:[Ee]\.g|[Ii]\.e|[Aa]pprox|[Ii]ncl|[Ee]xcl|vs|Mr|Mrs|Ms|Dr|St)\.(?!\w)"
                           r"|\b(?:No|Nr|no)\.(?=\s*\d)|(?:\b[A-Za-z]\.)+"
                           r"(?!\s+(?!(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b)[A-Z])")


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


def _is_heading(text: str) -> bool:
    """A short line that states nothing: no end punctuation, no "key: value", no number ("In the box",
    "Care and replacement")."""
    return (len(re.findall(r"\w+", text)) <= HEADING_MAX_WORDS and not re.search(r"[.!?:]$|:|\d", text))


def _sentence_ends(source: str) -> list[int]:
    """Where the sentences of `source` end: after . ! ? and a space, or at a line's end; not after the
    dot of an abbreviation ("a.m.") unless a line ends there."""
    abbreviations = {m.end() for m in _ABBREVIATION.finditer(source)}
    return [m.end() for m in _BOUNDARY.finditer(source)
            if m.group() == "\n" or m.end() not in abbreviations or source.startswith("\n", m.end())]


def _title_line(source: str) -> tuple[int, int] | None:
    """(start, end) of a source's first line when it is a title over more text: short, in title case,
    no sentence end ("Hydrating Day Cream SPF 30"). Every sentence below is read with it, so it is
    no answer."""
    start = len(source) - len(source.lstrip())
    end = source.find("\n", start)
    if end < 0 or not source[end:].strip():
        return None  # the source is one line: it may well be the answer
    line = source[start:end].rstrip()
    if len(line) > TITLE_MAX_CHARS or _BOUNDARY.search(line) or line.endswith(":") or _BULLET.match(line):
        return None
    long_words = re.findall(r"[^\W\d_]{4,}", line)  # a title is written in title case, a statement is not
    if sum(w[0].isupper() for w in long_words) * 2 < len(long_words):
        return None
    return start, start + len(line)


def candidate_spans(sources: Sequence[str]) -> list[Quote]:
    """Every sentence and list item of every source (at most MAX_SPAN_CHARS each), with its offsets;
    headings (short lines that are not list items) and a title line over the rest left out."""
    spans = []
    for n, source in enumerate(sources, start=1):
        ends = _sentence_ends(source) + [len(source)]
        title = _title_line(source)
        for start, end in zip([0] + ends, ends):
            for a, b in _pieces(source, start, end):
                words = len(re.findall(r"\w+", source[a:b]))
                if (a, b) == title:
                    continue
                key_value = words >= 2 and ":" in source[a:b].rstrip(":")  # "Monday: closed", "Colour: red"
                if _BULLET.match(source, a) and words or (words >= MIN_WORDS or key_value) and not _is_heading(source[a:b]):
                    spans.append(Quote(n, a, b, source[a:b]))
    return spans


def _stem(word: str) -> str:
    """A crude stem: "frames", "frame" -> "fram"; "charged", "charging", "charge" -> "charg"."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[:-len(suffix)]
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


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


def _lines_above(source: str, start: int) -> list[str]:
    """The non-blank lines of `source` before the line `start` is on, nearest first, stripped."""
    return [line.strip() for line in reversed(source[:start].split("\n")[:-1]) if line.strip()]


def _section(source: str, start: int) -> str:
    """The heading line nearest above `start` in `source` ("Gift vouchers"), or ""."""
    return next((line for line in _lines_above(source, start) if _is_heading(line) and not _BULLET.match(line)), "")


def _context(source: str, quote: Quote, title: str) -> str:
    """`quote` as it is read: after its page's title and the heading of its section."""
    section = _section(source, quote.start)
    head = " > ".join(dict.fromkeys(p for p in (title, section) if p))
    return f"{head}: {quote.text}" if head else quote.text


def _title(source: str) -> str:
    """A source's title, what each of its sentences is read with: its first line up to the first
    sentence end, when that is short (a page's heading); else nothing."""
    line = source.strip().split("\n", 1)[0]
    end = _BOUNDARY.search(line)
    title = (line[:end.start()] if end else line).strip()
    return title if len(title) <= TITLE_MAX_CHARS else ""


def list_lead(source: str, quote: Quote) -> str | None:
    """The line that introduces the list `quote` is an item of: one ending in ":" ("Accepted payment
    methods:") or a heading ("In the box"); None when it is no list item or a sentence comes before
    its list."""
    if not _BULLET.match(source, quote.start):
        return None
    line = next((line for line in _lines_above(source, quote.start) if not _BULLET.match(line)), None)
    return line.rstrip(":") if line and (line.endswith(":") or _is_heading(line)) else None


def answer_text(sources: Sequence[str], quote: Quote) -> str:
    """The answer built around `quote`: the sentence itself, or "<lead>: <item>" for a list item."""
    item = _BULLET.sub("", quote.text, count=1) if _BULLET.match(quote.text) else quote.text
    lead = list_lead(sources[quote.source - 1], quote)
    return f"{lead}: {item}" if lead and lead != item else item


_ATTRIBUTE = re.compile(r"\bhow (?!many|much|long|do|does|did|can|could|would|should|is|are|to|soon|often)([a-z]+)"
                        r"|\bwhat(?:'s| is| are|s) (?:the |its |it's )?([a-z]+)", re.I)


def key_named(text: str, question: str) -> bool:
    """Whether `text` is a "key: value" line (a key of at most four words) whose key's last word, what
    it names, is the attribute the question asks for ("how waterproof is it?" names "Waterproofing:
    20,000 mm"; "what's the wattage" names "Wattage: 1200 W"; the subject's words do not: "how far
    can the bike go on one battery" does not name "Battery: 630 Wh")."""
    key, colon, value = _BULLET.sub("", text, count=1).partition(":")
    named = _words(key)
    if not colon or not value.strip() or len(key.split()) > 4 or not named:
        return False
    asked = {_stem(w.lower()) for m in _ATTRIBUTE.finditer(question) for w in m.groups() if w}
    return named[-1] in asked


def _region_match(text: str, asked: set[int]) -> float:
    """+1 when `text` names a region the question names, -1 when it names only others, else 0."""
    named = regions(text) if asked else set()
    return 0.0 if not named else (1.0 if named & asked else -1.0)


def _same_paragraph(source: str, a: Quote, b: Quote) -> bool:
    """Whether two spans of `source` are sentences of one paragraph line (no list item, no line break)."""
    first, second = (a, b) if a.start < b.start else (b, a)
    return "\n" not in source[first.end:second.start] and not _BULLET.match(source, first.start)


def widen(sources: Sequence[str], spans: list[Quote], best: int, states) -> Quote:
    """`spans[best]`, or it with the sentence after (else before) it in its paragraph when it does not
    state what the question asks for (`states`: a span's text -> bool) and that sentence does: the
    fact often follows the sentence that names the subject ("Available to most urban addresses for
    NZ$12.00. Orders placed before 1 p.m. ...")."""
    quote = spans[best]
    if states(quote.text):
        return quote
    source = sources[quote.source - 1]
    for j in (best + 1, best - 1):
        if 0 <= j < len(spans) and spans[j].source == quote.source and states(spans[j].text) \
                and _same_paragraph(source, quote, spans[j]):
            start, end = min(quote.start, spans[j].start), max(quote.end, spans[j].end)
            return Quote(quote.source, start, end, source[start:end])
    return quote


@dataclass(frozen=True)
class Grounded:
    quote: Quote | None  # None: not answerable from the sources
    candidates: list[tuple[Quote, float]]  # what was ranked, best first, with the ranking score


def _pool(spans: list[Quote], lexical: list[float], cosine: np.ndarray | None, candidates: int,
          typed: list[bool]) -> list[int]:
    """The best `candidates` spans by BM25 (with a hit), by cosine, and of those that state the kind
    of value asked for (`typed`: a phone number for "what's your phone number", found by neither when
    the line is "Call: (07) 3555 0148"; by cosine, so with an embedder only), each with the one after it."""
    hits = sorted((i for i in range(len(spans)) if lexical[i] > 0), key=lambda i: -lexical[i])[:candidates]
    if cosine is not None:
        hits += [int(i) for i in np.argsort(-cosine, kind="stable")[:candidates]]
        hits += sorted((i for i in range(len(spans)) if typed[i]), key=lambda i: -cosine[i])[:candidates]
    hits = list(dict.fromkeys(hits))
    after = [i + 1 for i in hits if i + 1 < len(spans) and spans[i + 1].source == spans[i].source]
    return list(dict.fromkeys(hits + after))


_VECTORS: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()  # (embedder, text) -> vector, least recent first
VECTOR_CACHE = 8192  # sentences: a RAG collection's chunks come back question after question
_VECTORS_LOCK = threading.Lock()


def _embed(encoder: Embedder, texts: list[str]) -> np.ndarray:
    """[len(texts), dim] unit rows, each text embedded once per process while it stays in the cache."""
    with _VECTORS_LOCK:
        missing = list(dict.fromkeys(t for t in texts if (encoder.name, t) not in _VECTORS))
    fresh = encoder.embed(missing) if missing else []
    with _VECTORS_LOCK:
        for text, vector in zip(missing, fresh):
            _VECTORS[(encoder.name, text)] = vector
        rows = []
        for text in texts:
            _VECTORS.move_to_end((encoder.name, text))
            rows.append(_VECTORS[(encoder.name, text)])
        while len(_VECTORS) > VECTOR_CACHE:
            _VECTORS.popitem(last=False)
    return np.stack(rows)


async def _asked_likelihood(model: TaskModel, question: str, passages: list[str]) -> list[float] | None:
    """Each passage's mean log-probability per token of `question` as the reply to `asks_messages`
    (None when the model cannot score: an upstream). One short prompt per passage, sent together so a
    batching engine runs them as one batch."""
    scores = await asyncio.gather(*(model.score(asks_messages(p), [question], mean=True) for p in passages))
    return None if any(s is None for s in scores) else [s[0] for s in scores]


async def ground(model: TaskModel, question: str, sources: Sequence[str], *,
                 candidates: int = CANDIDATES, embedder: Embedder | None | bool = None) -> Grounded:
    """The sentence of `sources` that answers `question` (see the module's docstring). `embedder`:
    None, the packaged MiniLM (loaded once per process); False, BM25 alone."""
    spans = candidate_spans(sources)
    titles = [_title(s) for s in sources]
    read = [_context(sources[q.source - 1], q, titles[q.source - 1]) for q in spans]
    lexical = bm25_scores(expand_question(question), [Quote(q.source, q.start, q.end, r) for q, r in zip(spans, read)])
    cosine = None
    if spans and embedder is not False:
        encoder = embedder or await run_torch(shared_sentence_embedder)
        vectors = await run_torch(lambda: _embed(encoder, [question] + read))
        cosine = vectors[1:] @ vectors[0]
    kind = AskedKind(question)
    ranked = _pool(spans, lexical, cosine, candidates, [kind.asks and kind.states(q.text) for q in spans])
    if not ranked:
        return Grounded(None, [])
    pool = [spans[i] for i in ranked]
    asked = await _asked_likelihood(model, question, [read[i] for i in ranked])
    if asked is None:  # no likelihoods (an upstream): its pick under a choice constraint
        texts = tuple(dict.fromkeys(q.text for q in pool))
        written = await model.complete(quote_messages(question, list(sources)), max_tokens=256,
                                       constraint=Constraint(kind="choice", choices=texts))
        chosen = next((q for q in pool if q.text == written.strip()), pool[0])
        return Grounded(chosen, [(q, float(q is chosen)) for q in pool])
    # The ranking: the question's likelihood, the embedding's cosine, BM25 scaled to 0..1, the answer type.
    top_lex = max(lexical[i] for i in ranked) or 1.0
    asked_regions = regions(question)
    score = [ASKED_WEIGHT * a + LEXICAL_WEIGHT * lexical[i] / top_lex
             + (COSINE_WEIGHT * float(cosine[i]) if cosine is not None else 0.0)
             + kind.type_score(spans[i].text)
             + (KEY_WEIGHT if key_named(spans[i].text, question) else 0.0)
             + REGION_WEIGHT * _region_match(read[i], asked_regions)
             - (ASKS_BACK_PENALTY if spans[i].text.endswith("?") else 0.0)
             for a, i in zip(asked, ranked)]
    order = sorted(range(len(pool)), key=lambda j: -score[j])
    best, scored = order[0], [(pool[j], score[j]) for j in order]
    # a phone number for "what's your phone number" is about it, however far its words are from the question's
    off_topic = cosine is not None and float(cosine[ranked[best]]) < MIN_COSINE
    if off_topic and not (kind.exclusive and kind.states(pool[best].text)):
        return Grounded(None, scored)
    return Grounded(widen(sources, spans, ranked[best], kind.states), scored)
