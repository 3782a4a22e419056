"""What a shopper's question asks for, read off its words, for grounded QA (`grounded_qa.py`).

- `expand_question`: the question plus the words a shop's pages use for what it asks ("how heavy" ->
  "weight", "send it back" -> "return") and for where it asks about ("Auckland" -> "New Zealand"),
  for BM25;
- `asks_quantity` / `new_numbers`: a question that asks "how many", "how much", "when" ... is answered
  by a sentence that holds a number the question does not;
- `answer_units` / `has_unit`: the kind of value it asks for (a duration, a price, a weight, a time of
  day, a day or date ...) and whether a sentence states one ("How long do I have to send it back?"
  is answered by "30 days", not by "a 4.95 EUR fee");
- `counted_noun` / `counts`: what "how many <things>" counts, and whether a sentence gives a number of
  them ("Pages: 288", "288 pages");
- `regions`: the regions a question or a sentence names ("Belfast" -> Northern Ireland), so that a
  shipping line for another region is not the answer.
"""

from __future__ import annotations

import re

_QUANTITY = re.compile(r"\bhow (many|much|long|heavy|big|far|old|tall|wide|large|soon|fast)\b|\bweigh|\bcost|\bprice"
                        r"|\bsize\b|\bdimension|\bcapacity|\bwhat time\b|\bwhen\b|\bhow often\b|\bcharge\b|\bfee\b|\bpostage\b", re.I)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def new_numbers(text: str, question: str) -> bool:
    """Whether `text` holds a number the question does not (an answer to "how much", not a model name)."""
    return bool(set(_NUMBER.findall(text)) - set(_NUMBER.findall(question)))


def asks_quantity(question: str) -> bool:
    """Whether `question` asks how many, how much, how long, when ... (a number answers it)."""
    return bool(_QUANTITY.search(question))


# What the answer to a kind of question is called in a page ("How heavy?" -> "Weight: 2.6 kg"): words
# added to the question's BM25 query.
_ANSWER_WORDS = [
    (re.compile(r"\bhow heavy\b|\bweigh", re.I), "weight weighs"),
    (re.compile(r"\bhow far\b", re.I), "range distance"),
    (re.compile(r"\bhow (big|large|tall|wide)\b", re.I), "size dimensions"),
    (re.compile(r"\bhow much\b.*\b(hold|fit)\b|\bcapacity\b", re.I), "capacity holds"),
    (re.compile(r"\b(expire|expiry|run out|last)\b", re.I), "valid expires"),
    (re.compile(r"\bhow much\b|\bcost|\bprice|\bcharge\b|\bfee\b|\bpay\b", re.I), "price costs EUR"),
    (re.compile(r"\bwhere\b", re.I), "address located visit"),
    (re.compile(r"\bmade of\b|\bmaterial", re.I), "material made"),
    (re.compile(r"\b(come with|included|in the box)\b", re.I), "box includes included"),
    # how shoppers say it, and what a shop's pages call it
    (re.compile(r"\bsend (?:\w+ )?back\b|\bchange (?:my|your) mind\b|\bbring (?:\w+ )?back\b", re.I), "return returns"),
    (re.compile(r"\bhow long\b.*\b(return|send|keep|wait|take|arrive|deliver|cover|guarantee|warrant)", re.I),
     "days weeks months years"),
    (re.compile(r"\b(split|spread|instal+ments?|pay later|in parts|monthly)\b", re.I),
     "instalments installments klarna afterpay affirm later"),
    (re.compile(r"\btomorrow\b|\bnext day\b|\bquick(ly|est)?\b|\bfast(er|est)?\b", re.I), "express next-day"),
    (re.compile(r"\b(broke|broken|break|breaks|snap|snaps|snapped|crack|cracked|smash|faulty|stops? working)\b", re.I),
     "warranty guarantee breakage damage defects"),
    (re.compile(r"\b(ring|call|phone|reach) (you|us|support)\b|\bopen\b|\bclose\b", re.I), "hours opening phone"),
    (re.compile(r"\b(recharge|keep going|run time|battery)\b", re.I), "battery life run time runtime"),
    (re.compile(r"\b(save|discount|cheaper|off)\b", re.I), "off discount save"),
    (re.compile(r"\b(the most|max|maximum|highest|biggest|largest amount|up to)\b", re.I), "up to maximum"),
    (re.compile(r"\btoday\b|\bsame day\b", re.I), "same day"),
    (re.compile(r"\b(deadline|latest|cut-?off|in time)\b", re.I), "before by"),
]


_EU = ("austria belgium bulgaria croatia cyprus czechia czech denmark estonia finland france germany greece hungary "
       "italy latvia lithuania luxembourg malta netherlands holland poland portugal romania slovakia slovenia spain "
       "sweden paris berlin munich hamburg madrid barcelona rome milan amsterdam rotterdam brussels vienna lisbon "
       "copenhagen stockholm helsinki warsaw prague budapest athens")
# Where a shopper lives, and what a shipping page calls that region (a 135M model does not know that
# Auckland is in New Zealand): city or country -> the country and region words, for BM25.
_PLACES = [
    (_EU, "EU Europe European Union international"),
    ("dublin cork galway limerick ireland", "Ireland Republic EU Europe international"),
    ("belfast derry londonderry lisburn newry northern_ireland", "Northern Ireland UK United Kingdom"),
    ("london manchester birmingham leeds glasgow edinburgh cardiff liverpool bristol uk britain england "
     "scotland wales", "UK United Kingdom Great Britain"),
    ("auckland wellington christchurch nz", "New Zealand NZ international"),
    ("sydney melbourne brisbane perth adelaide hobart darwin canberra australia", "Australia international"),
    ("toronto vancouver montreal calgary ottawa edmonton winnipeg halifax quebec ontario canada",
     "Canada international"),
    ("new_york boston chicago texas california florida seattle usa america united_states", "USA US United States international"),
    ("switzerland norway iceland japan china india singapore mexico brazil", "international worldwide overseas"),
]
_PLACE_PATTERNS = [(re.compile(r"\b(?:" + "|".join(n.replace("_", r"\s+") for n in names.split()) + r")\b", re.I), words)
                   for names, words in _PLACES]  # "new_york": two words


_NORTHERN = re.compile(r"\bnorthern\s+ireland\b", re.I)
_REPUBLIC = next(n for n, (names, _) in enumerate(_PLACES) if names.startswith("dublin"))  # Ireland's group


def regions(text: str) -> set[int]:
    """The regions of _PLACES that `text` names, by number ("Northern Ireland" is not Ireland)."""
    found = {n for n, (pattern, _) in enumerate(_PLACE_PATTERNS) if pattern.search(text)}
    if _NORTHERN.search(text) and not _PLACE_PATTERNS[_REPUBLIC][0].search(_NORTHERN.sub("", text)):
        found.discard(_REPUBLIC)  # named only as part of "Northern Ireland"
    return found


def expand_question(question: str) -> str:
    """`question` with the words its kind of answer is called by (see _ANSWER_WORDS) and the country
    and region of a place it names (see _PLACES)."""
    extra = [words for pattern, words in _ANSWER_WORDS + _PLACE_PATTERNS if pattern.search(question)]
    return " ".join([question, *extra])

# The kinds of value a question asks for: (what the question says, what a sentence that states one holds).
_UNITS = {
    # "three weeks ago ... can I still send it back?" asks for a time limit too
    "duration": (r"\bhow long\b(?!.*\b(?:blade|cable|cord|bed|is the|are the)\b)|\bhow soon\b|\b(?:expire|run out)\b"
                 r"|\bhow many (?:days|weeks|months|years|hours|minutes)\b|\bkeep going\b"
                 r"|\b(?:days?|weeks?|wks?|months?|mos?|years?|yrs?) (?:ago|back)\b|\blast (?:week|month|year)\b",
                 r"\d+(?:[.,]\d+)?\s*(?:[-–]\s*\d+\s*)?(?:working |business |full )?"
                 r"(?:days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?)\b"),
    "money": (r"\bhow much\b.*\b(?:cost|pay|charge|spend|price|be)\b|\bcost|\bprice|\bcharge\b|\bfee\b|\bhow much is\b"
              r"|\bspend\b|\bpostage\b",
              r"[$€£]\s?\d|\d\s?(?:EUR|USD|GBP|CHF|CAD|AUD|kr)\b|\d\s?[€£]|\bfree\b"),
    "weight": (r"\bhow heavy\b|\bweigh|\bheaviest\b", r"\d\s?(?:kg|g|lbs?|pounds|oz)\b"),
    "distance": (r"\bhow far\b|\brange\b", r"\d\s?(?:km|miles?|mi)\b"),
    "clock": (r"\bwhat time\b|\buntil when\b|\bwhat hours\b|\bopen\b|\bclose\b|\bshut\b|\blatest\b|\bdeadline\b"
              r"|\bcut-?off\b|\bby when\b|\bwhen\b",
              # no \b after "p.m."; "NZ$12.00" is a price, not a time
              r"(?<![$€£\d.,])\d{1,2}[:.]\d{2}|\d\s?(?:a\.m\.|p\.m\.|am\b|pm\b)|\bmidnight\b|\bnoon\b"),
    "day": (r"\bwhen\b|\bwhat day\b|\bwhich days?\b|\bdeadline\b|\bby when\b|\buntil when\b",
            r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)days?\b|\b\d{1,2}(?:st|nd|rd|th)\b"
            r"|\b(?:january|february|march|april|may|june|july|august|september|october|november|december)\b"),
    "percent": (r"\bsave\b|\bdiscount\b|\bhow much off\b|\bpercent", r"\d\s?%"),
    "size": (r"\bhow (?:big|tall|wide|high|deep|large)\b|\bdimension|\bhow long is\b|\bsize\b",
             r"\d\s?(?:cm|mm|m|in|inches|ft|\")(?!\w)"),
    "phone": (r"\bphone\b|\btelephone\b|\b(?:call|ring) (?:you|us)\b|\bwhatsapp\b",
              r"(?:\+?\d[\s().-]{0,2}){7,}"),  # seven digits or more, spaced or not: "3555 0148", "555-0163"
    "email": (r"\be-?mail\b", r"[\w.+-]+@[\w-]+\.\w"),
    "volume": (r"\bhow much\b.*\b(?:hold|fit|water)\b|\bcapacity\b", r"\d\s?(?:l|litres?|liters?|ml|gallons?)\b"),
}
_UNIT_PATTERNS = {kind: (re.compile(q, re.I), re.compile(a, re.I)) for kind, (q, a) in _UNITS.items()}


EXCLUSIVE = ("phone", "email")  # kinds only a sentence that states one can answer ("what's your phone number")


def answer_units(question: str) -> list[str]:
    """The kinds of value `question` asks for ("duration", "money", ...), [] for none."""
    return [kind for kind, (asks, _) in _UNIT_PATTERNS.items() if asks.search(question)]


def has_unit(text: str, kinds: list[str]) -> bool:
    """Whether `text` states a value of one of `kinds` ("within 30 days" is a duration)."""
    return any(_UNIT_PATTERNS[kind][1].search(text) for kind in kinds)


_COUNTED = re.compile(r"\bhow many ([a-z]+)", re.I)
_NOT_COUNTED = frozenset("days weeks months years hours minutes times people of do does did can is are".split())


def _noun_stem(word: str) -> str:
    """"pages" -> "page": only a plural's s goes, so `counts` can look for the word with an optional s
    (grounded_qa's BM25 stem, "pag", would not find "pages" that way)."""
    word = word.lower()
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def counted_noun(question: str) -> str | None:
    """What "how many <things>" counts, as a crude stem ("pages" -> "page"); None when the question
    counts no thing (or counts time: see "duration")."""
    m = _COUNTED.search(question)
    return _noun_stem(m.group(1)) if m and m.group(1).lower() not in _NOT_COUNTED else None


def counts(text: str, noun: str) -> bool:
    """Whether `text` gives a number of `noun`: the number right before it ("288 pages") or it as the
    key of a "key: number" line ("Pages: 288")."""
    stem = re.escape(noun)
    return bool(re.search(rf"\d\s*(?:[a-z-]+\s+)?{stem}s?\b|\b{stem}s?\s*:\s*\d", text, re.I))


NO_NUMBER_PENALTY = 1.0  # a question that asks for a quantity: a sentence with no number of its own, down
EXCLUSIVE_PENALTY = 1.0  # one that asks for a phone number or an email: a sentence without one, down
UNIT_WEIGHT = 1.0  # a sentence that states the kind of value asked for (a duration for "how long")


class AskedKind:
    """What kind of value `question` asks for (`answer_types`), and what each span's text says to it,
    worked out once per text: `states(text)`, whether it states that kind (any sentence does when the
    question asks for no kind), and `type_score(text)`, its ranking term."""

    def __init__(self, question: str) -> None:
        self.question = question
        self.quantity, self.units, self.noun = asks_quantity(question), answer_units(question), counted_noun(question)
        self.exclusive = [kind for kind in self.units if kind in EXCLUSIVE]
        self.asks = bool(self.units or self.quantity or self.noun)
        self._seen: dict[str, tuple[bool, float]] = {}

    def _read(self, text: str) -> tuple[bool, float]:
        if text not in self._seen:
            numbers = self.quantity and new_numbers(text, self.question)
            unit = bool(self.units) and has_unit(text, self.units)
            counted = self.noun is not None and counts(text, self.noun)
            states = (unit if self.units else numbers if self.quantity else True) and (self.noun is None or counted)
            score = (-(NO_NUMBER_PENALTY if self.quantity and not numbers else 0.0)
                     + (UNIT_WEIGHT if unit else 0.0)
                     - (EXCLUSIVE_PENALTY if self.exclusive and not has_unit(text, self.exclusive) else 0.0)
                     + (UNIT_WEIGHT if counted else 0.0))
            self._seen[text] = (states, score)
        return self._seen[text]

    def states(self, text: str) -> bool:
        return self._read(text)[0]

    def type_score(self, text: str) -> float:
        return self._read(text)[1]
