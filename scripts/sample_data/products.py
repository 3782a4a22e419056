"""The rows of TuneLab's synthetic e-commerce sample: products labelled with Google Product Taxonomy
categories, MAVE-format attribute records and AmazonQA-format questions, drafted from a seed.

Deterministic, with no network and no model: every text is assembled from the hand-written
vocabularies (`vocab.json`) and the templates (`templates.py`), so the same seed gives the same
rows. Evidence offsets are found by code in the finished text, and generation stops if a value
turns up anywhere it was not put (a vocabulary clash). `generate.py` writes the rows to files."""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from scripts.sample_data.templates import (
    ANSWERS,
    ATTRIBUTE_BULLETS,
    ATTRIBUTE_SENTENCES,
    CLOSERS,
    DESCRIPTIVE_QUESTIONS,
    FEATURE_BULLETS,
    FEATURE_SNIPPETS,
    GENERIC_DESCRIPTIVE,
    GENERIC_QUESTIONS,
    GENERIC_SENTENCES,
    GENERIC_SUPPORT,
    GENERIC_YESNO,
    NO_ANSWERS,
    OPENERS,
    PLAIN_OPENERS,
    REVIEW_SNIPPETS,
    SUPPORT_SNIPPETS,
    USE_SNIPPETS,
    YES_ANSWERS,
    YESNO_QUESTIONS,
    cap,
    heading,
    title_case,
)
from scripts.sample_data.vocab import (
    BRANDS,
    GROUP_FEATURES,
    KIND_GROUPS,
    KINDS,
    MODEL_NAMES,
    SHARED_USES,
    TOP_FEATURES,
    Kind,
)
from tunelab.tasks.ecommerce.datasets.sample import hash_split
from tunelab.tasks.ecommerce.taxonomy import Taxonomy

SEED = 2021_09_21  # the taxonomy version: any fixed number would do
PRODUCTS_PER_KIND = 7
ATTRIBUTE_RATE = 0.75  # share of products that also get an attribute-extraction record
QA_RATE = 0.55  # share of products that get a question
OMIT_RATE = 0.15  # chance that a product's text never states one of its attributes
SHARED_FEATURE_RATE = 0.5  # chance that a feature slot takes a feature shared with other kinds
MODEL_NAME_RATE = 0.2  # chance that a title names a model instead of the product noun
PLAIN_OPENER_RATE = 0.4  # chance that the description does not name the product
ANSWERABLE_RATE = 0.6

# --- evidences -----------------------------------------------------------------------------------


def _value_pattern(value: str) -> re.Pattern[str]:
    """The value as a whole term, any case: not inside a longer word, number or hyphenated term."""
    return re.compile(r"(?<![\w./-])" + re.escape(value) + r"(?![\w/-])", re.IGNORECASE)


def find_evidences(value: str, paragraphs: list[str]) -> list[dict[str, Any]]:
    """Every occurrence of `value` in the paragraphs as MAVE evidences (value as spelled in the text)."""
    pattern = _value_pattern(value)
    return [
        {"value": m.group(0), "pid": pid, "begin": m.start(), "end": m.end()}
        for pid, paragraph in enumerate(paragraphs)
        for m in pattern.finditer(paragraph)
    ]


# --- products -------------------------------------------------------------------------------------


@dataclass
class Draft:
    """A product as generated, before ids are assigned: its text, its kind and attribute values."""

    kind: Kind
    category_id: int
    brand: str
    title: str
    description: str
    bullets: list[str]
    price: float
    values: dict[str, str]
    stated: Counter = field(default_factory=Counter)  # how many times each attribute value was written
    id: str = ""
    split: str = ""

    def paragraphs(self) -> list[tuple[str, str]]:
        """(text, source) in MAVE's order: title, description, one per bullet, brand."""
        bullets = [(b, "feature") for b in self.bullets]
        return [(self.title, "title"), (self.description, "description"), *bullets, (self.brand, "brand")]


def _plan(rng: random.Random, keys: list[str]) -> dict[str, set[str]]:
    """Where each attribute is stated: some of title / description / bullet, or nowhere (absent)."""
    plan: dict[str, set[str]] = {}
    for key in keys:
        if rng.random() < OMIT_RATE:
            plan[key] = set()
            continue
        places = {p for p, rate in (("title", 0.55), ("description", 0.5), ("bullet", 0.4)) if rng.random() < rate}
        plan[key] = places or {rng.choice(("title", "description", "bullet"))}
    if not any(plan.values()):  # every product states at least one attribute
        plan[rng.choice(keys)] = {"title"}
    return plan


def _shared_features(kind: Kind) -> list[tuple[str, str]]:
    """Features this kind shares with others: its top-level category's and its group's."""
    group = GROUP_FEATURES.get(KIND_GROUPS.get(kind.short, ""), ())
    return [*TOP_FEATURES[kind.path.split(" > ")[0]], *group]


def _features(rng: random.Random, kind: Kind, count: int) -> list[tuple[str, str]]:
    """`count` distinct features, each slot taking a shared one with SHARED_FEATURE_RATE."""
    own, shared = list(kind.features), _shared_features(kind)
    rng.shuffle(own)
    rng.shuffle(shared)
    return [shared.pop() if shared and rng.random() < SHARED_FEATURE_RATE else own.pop() for _ in range(count)]


def _draft(rng: random.Random, kind: Kind, category_id: int) -> Draft:
    top = kind.path.split(" > ")[0]
    brand = rng.choice(BRANDS[top])
    noun = rng.choice(kind.nouns)
    title_noun = f"{rng.choice(MODEL_NAMES)} {rng.randint(1, 9)}00" if rng.random() < MODEL_NAME_RATE else noun
    values = {key: rng.choice(options) for key, options in kind.attrs.items()}
    plan = _plan(rng, list(kind.attrs))
    stated: Counter = Counter()

    def say(key: str, titled: bool = False) -> str:
        stated[key] += 1
        return title_case(values[key]) if titled else values[key]

    # title
    in_title = [say(k, titled=True) for k in kind.attrs if "title" in plan[k]]
    if in_title:
        title = rng.choice((
            "{brand} {noun}, {vals}",
            "{brand} {noun} - {slash}",
            "{noun} by {brand} ({vals})",
            "{brand} {noun} | {bars}",
        )).format(
            brand=brand, noun=title_noun, vals=", ".join(in_title), slash=" / ".join(in_title), bars=" | ".join(in_title)
        )
    else:
        title = rng.choice(("{brand} {noun}", "{noun} by {brand}")).format(brand=brand, noun=title_noun)

    # description: opener, attribute and feature sentences in any order, sometimes a closer
    features = _features(rng, kind, 1 + rng.randint(2, 3))
    middle = []
    for key in kind.attrs:
        if "description" in plan[key]:
            template = rng.choice(ATTRIBUTE_SENTENCES.get(key, GENERIC_SENTENCES))
            middle.append(template.format(v=say(key), key=key.lower(), Key=key))
    feature, does = features[0]
    middle.append(f"{cap(feature)} {does}.")
    rng.shuffle(middle)
    a_short = ("an " if kind.short[0] in "aeiou" else "a ") + kind.short
    uses = [*kind.uses, rng.choice(SHARED_USES)]
    openers = PLAIN_OPENERS if rng.random() < PLAIN_OPENER_RATE else OPENERS
    opener = rng.choice(openers).format(brand=brand, noun=noun, short=kind.short, a_short=a_short, use=rng.choice(uses))
    closer = [rng.choice(CLOSERS)] if rng.random() < 0.6 else []
    description = " ".join([opener, *middle, *closer])

    # bullets: two or three features, the attributes planned there, sometimes a use
    bullets = []
    for feature, does in features[1:]:
        bullets.append(rng.choice(FEATURE_BULLETS).format(HEAD=heading(feature), Feature=cap(feature), does=does))
    for key in kind.attrs:
        if "bullet" in plan[key]:
            bullets.append(rng.choice(ATTRIBUTE_BULLETS).format(KEY=key.upper(), Key=key, v=say(key)))
    if rng.random() < 0.5:
        bullets.append(f"Ideal for {rng.choice(uses)}.")
    rng.shuffle(bullets)

    low, high = kind.price
    price = round(rng.randint(low, high) + rng.choice((0.99, 0.49, 0.95, 0.0)), 2)
    return Draft(kind, category_id, brand, title, description, bullets, price, values, stated)


def _check(draft: Draft) -> None:
    """Each value occurs exactly as often as the generator wrote it, so no evidence is accidental."""
    texts = [t for t, _ in draft.paragraphs()]
    for key, value in draft.values.items():
        found = len(find_evidences(value, texts))
        if found != draft.stated[key]:
            raise RuntimeError(
                f"vocabulary clash in {draft.kind.short!r}: {key} value {value!r} was written {draft.stated[key]} "
                f"time(s) but occurs {found} time(s) in {texts!r}"
            )


# --- records --------------------------------------------------------------------------------------


def _product_row(d: Draft, taxonomy: Taxonomy) -> dict[str, Any]:
    return {
        "id": d.id,
        "title": d.title,
        "description": d.description,
        "bullet_points": d.bullets,
        "brand": d.brand,
        "price": d.price,
        "category_id": d.category_id,
        "category_path": taxonomy.path(d.category_id),
        "split": d.split,
    }


def _attribute_row(d: Draft, taxonomy: Taxonomy) -> dict[str, Any]:
    paragraphs = d.paragraphs()
    texts = [t for t, _ in paragraphs]
    return {
        "id": d.id,
        "category": taxonomy.name(d.category_id),
        "paragraphs": [{"text": t, "source": s} for t, s in paragraphs],
        "attributes": [{"key": key, "evidences": find_evidences(value, texts)} for key, value in d.values.items()],
        "split": d.split,
    }


def _mentions(value: str, text: str) -> bool:
    return _value_pattern(value).search(text) is not None


def _qa_row(rng: random.Random, d: Draft) -> dict[str, Any]:
    kind, answerable = d.kind, rng.random() < ANSWERABLE_RATE
    if rng.random() < 0.8:  # a question about one attribute
        key = rng.choice(list(kind.attrs))
        value, k = d.values[key], key.lower()
        if rng.random() < 0.5:
            question_type = "descriptive"
            question = rng.choice(DESCRIPTIVE_QUESTIONS.get(key, GENERIC_DESCRIPTIVE)).format(short=kind.short, key=k)
            texts = rng.sample(ANSWERS, 2)
            answers = [(t.format(v=value, V=cap(value)), "NA") for t in texts]
        else:
            question_type = "yesno"
            others = [v for v in kind.attrs[key] if v != value]
            asked = value if rng.random() < 0.5 else rng.choice(others)
            question = rng.choice(YESNO_QUESTIONS.get(key, GENERIC_YESNO)).format(short=kind.short, key=k, x=asked)
            pool, kind_of_answer = (YES_ANSWERS, "Y") if asked == value else (NO_ANSWERS, "N")
            answers = [(t.format(v=value, x=asked), kind_of_answer) for t in rng.sample(pool, 2)]
        support = rng.choice(SUPPORT_SNIPPETS.get(key, GENERIC_SUPPORT)).format(v=value, key=k)
        avoid = [value]
    else:  # a question any product can get
        question, question_type, answer, answer_type, support = rng.choice(GENERIC_QUESTIONS)
        fill = {"brand": d.brand, "days": rng.randint(2, 7)}
        question, support = question.format(**fill), support.format(**fill)
        answers = [(answer.format(**fill), answer_type)]
        avoid = [support]
    # review snippets: generic opinions, the kind's features and uses; never the answer unless answerable
    pool = [
        *REVIEW_SNIPPETS,
        *(rng.choice(FEATURE_SNIPPETS).format(feature=f, the_feature=re.sub(r"^(a|an) ", "the ", f), does=does)
          for f, does in [*kind.features, *_shared_features(kind)]),
        *(t.format(use=u) for t in USE_SNIPPETS for u in kind.uses),
    ]
    pool = [s for s in pool if not any(_mentions(a, s) or a == s for a in avoid)]
    snippets = rng.sample(pool, rng.randint(3, 6) - (1 if answerable else 0))
    if answerable:
        snippets.insert(rng.randint(0, len(snippets)), support)
    return {
        "qid": 0,  # numbered once every question exists
        "asin": d.id,
        "category": kind.path.split(" > ")[0],
        "questionText": question,
        "questionType": question_type,
        "review_snippets": snippets,
        "answers": [
            {"answerText": text, "answerType": answer_type, "helpful": [h, h + rng.randint(0, 4)]}
            for text, answer_type in answers
            for h in [rng.randint(0, 9)]
        ],
        "is_answerable": answerable,
        "split": d.split,
    }


@dataclass
class Sample:
    """The generated rows of each file, in file order."""

    products: list[dict[str, Any]]
    attributes: list[dict[str, Any]]
    qa: list[dict[str, Any]]


def generate(seed: int = SEED, taxonomy: Taxonomy | None = None) -> Sample:
    """Build every row from `seed`. Raises if a vocabulary path is not a taxonomy category or a
    value clashes with other text."""
    taxonomy = taxonomy or Taxonomy.load()
    rng = random.Random(seed)
    drafts: list[Draft] = []
    for kind in KINDS:
        category_id = taxonomy.id_for_path(kind.path)
        for _ in range(PRODUCTS_PER_KIND):
            draft = _draft(rng, kind, category_id)
            _check(draft)
            drafts.append(draft)
    rng.shuffle(drafts)  # ids say nothing about the category
    for number, draft in enumerate(drafts, start=1):
        draft.id = f"syn-{number:05d}"
        draft.split = hash_split(draft.id)
    products = [_product_row(d, taxonomy) for d in drafts]
    attributes = [_attribute_row(d, taxonomy) for d in drafts if rng.random() < ATTRIBUTE_RATE]
    qa = [_qa_row(rng, d) for d in drafts if rng.random() < QA_RATE]
    for qid, row in enumerate(qa, start=1):
        row["qid"] = qid
    return Sample(products, attributes, qa)
