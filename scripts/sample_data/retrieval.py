"""The retrieval evaluation set of the synthetic sample: shopper questions over the sample catalogue
(products.jsonl ingested as a catalogue, one document per product, doc id = product id) and its Q&A
data, each with the ids of every product that answers it. Deterministic from the sample's seed.

How relevance is decided (by code, never by a model): the generator's true product facts are
rebuilt from the seed (kind, brand, attribute values, and which values the listing states), and a
question is a conjunction of constraints: the kind as a shopper names it (its `short`, so
"keyboard" covers both keyboard kinds), and some of brand, attribute values and features the
listing states. `relevant` lists every product satisfying all of them. A question is kept only
when 1 to `MAX_RELEVANT` products satisfy it and every product of that kind, brand and features
states the asked attributes in its text (so a listing that hides its value cannot be a silent
"relevant" nobody could find). Questions paraphrase instead of copying titles: the kind's
everyday name, lower-cased values, features and uses. Q&A questions (qa.jsonl) keep their wording
with "this dog bed" replaced by a description of the product (brand and features, never the
asked attribute). `python -m scripts.sample_data` regenerates the packaged file (with the others)."""

from __future__ import annotations

import itertools
import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.sample_data import products as gen
from scripts.sample_data.templates import GENERIC_QUESTIONS, cap
from scripts.sample_data.vocab import KINDS, Kind
from tunelab.tasks.ecommerce.datasets.sample import hash_split, sample_dir
from tunelab.tasks.ecommerce.taxonomy import Taxonomy

RETRIEVAL_FILE = "retrieval.jsonl"
QUESTIONS_PER_KIND = 2  # catalogue questions per product kind
MAX_RELEVANT = 3
SALT = 6  # offsets the sample's seed, so question choices do not mirror the products' random draws

# Catalogue question templates and the slots each needs: brand, attr (a first attribute), attr2,
# feature, feature2, does (a feature said by what it does, not by its name), use (flavour only: every
# product of a kind is made for its kind's uses), kind_use (a use only this kind has, naming the kind
# instead of its name).
TEMPLATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("I'm looking for {a_short} {attr} from {brand}.", ("brand", "attr")),
    ("Does {brand} sell {a_short} {attr}?", ("brand", "attr")),
    ("Need {a_short} {attr}, {attr2}.", ("attr", "attr2")),
    ("Which {short} {attr} comes with {feature}?", ("attr", "feature")),
    ("Show me the {brand} {short} that has {feature}.", ("brand", "feature")),
    ("Any {short} {attr} that is good for {use}? It must have {feature}.", ("attr", "feature", "use")),
    ("{brand} {short} {value}", ("brand", "attr")),
    ("Shopping for {use}: {a_short} by {brand} with {feature}, please.", ("brand", "feature", "use")),
    ("Is there {a_short} with {feature} and {feature2}?", ("feature", "feature2")),
    ("want {a_short} {attr} for {use}", ("attr", "use")),
    ("Something for {kind_use}, {attr}?", ("kind_use", "attr")),
    ("gift for {kind_use} from {brand}", ("kind_use", "brand")),
    ("{short} that {does}", ("does",)),
    ("Is there a {brand} one for {kind_use} that {does}?", ("kind_use", "brand", "does")),
)


@dataclass(frozen=True)
class Listing:
    """One product with the facts relevance is decided on."""

    id: str
    split: str
    kind: Kind
    brand: str
    values: dict[str, str]  # true attribute values
    stated: frozenset[str]  # attribute keys whose value the listing's text states
    features: tuple[str, ...]  # feature phrases (as in vocab, with article) the text states
    text: str

    def satisfies(self, short: str, brand: str | None, attrs: dict[str, str], features: tuple[str, ...]) -> bool:
        return (self.kind.short == short and (brand is None or self.brand == brand)
                and all(self.values.get(k) == v for k, v in attrs.items())
                and all(f in self.features for f in features))


def _phrase(feature: str) -> str:
    return re.sub(r"^(a|an|the)\s+", "", feature)


def _states(feature: str, text: str) -> bool:
    """The feature's noun phrase (without its article) as whole words anywhere in the text."""
    return re.search(r"(?<![\w-])" + re.escape(_phrase(feature)) + r"(?![\w-])", text, re.IGNORECASE) is not None


def _drafts(seed: int, taxonomy: Taxonomy) -> list[gen.Draft]:
    """The generator's product drafts (true attribute values included), rebuilt exactly as
    `products.generate` draws them: same random stream, same shuffle, same ids."""
    rng = random.Random(seed)
    drafts = [gen._draft(rng, kind, taxonomy.id_for_path(kind.path)) for kind in KINDS
              for _ in range(gen.PRODUCTS_PER_KIND)]
    rng.shuffle(drafts)
    for number, draft in enumerate(drafts, start=1):
        draft.id = f"syn-{number:05d}"
    return drafts


def listings(sample: gen.Sample, seed: int, taxonomy: Taxonomy) -> list[Listing]:
    """Each product of `sample` with its true facts. Raises if the rebuilt drafts do not match the
    sample's products (products.py changed its random draws: update `_drafts`)."""
    drafts = _drafts(seed, taxonomy)
    rows = {r["id"]: r for r in sample.products}
    out = []
    for d in drafts:
        row = rows.get(d.id)
        if row is None or (row["title"], row["description"], row["brand"]) != (d.title, d.description, d.brand):
            raise RuntimeError(f"Product {d.id} rebuilt from seed {seed} differs from the sample's; "
                               "products.py changed how it draws products: update retrieval.py.")
        text = "\n".join([d.title, d.description, *d.bullets])
        features = tuple(f for f, _ in [*d.kind.features, *gen._shared_features(d.kind)] if _states(f, text))
        out.append(Listing(id=d.id, split=row["split"], kind=d.kind, brand=d.brand, values=dict(d.values),
                           stated=frozenset(k for k, n in d.stated.items() if n > 0), features=features, text=text))
    return out


def _value_words(value: str) -> str:
    """'Charcoal Grey' -> 'charcoal grey'; 'USB-C', '600D polyester' and '9 oz' stay as written."""
    return value.lower() if all(w[:1].isupper() and w[1:].islower() for w in re.split(r"[ -]", value) if w) else value


def attr_phrase(key: str, value: str) -> str:
    """How a shopper asks for an attribute value: 'made of memory foam', 'in navy blue', 'in size large'."""
    v = _value_words(value)
    if key == "Color":
        return f"in {v}"
    if key in ("Material", "Upper Material", "Fiber"):
        return f"made of {v}"
    if key == "Size":
        return f"in size {v}"
    if v.endswith("-free"):
        return f"that is {v}"
    if set(key.lower().split()) & set(re.split(r"[ -]", v.lower())):  # 'E-mount' says its key (Mount) already
        return f"with {v}"
    if key.endswith("s"):  # Units: metric
        return f"with {key.lower()} in {v}"
    return f"with {_article(key.lower())} of {v}"


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


class _Builder:
    def __init__(self, items: list[Listing], rng: random.Random) -> None:
        self.items, self.rng = items, rng
        self.by_short: dict[str, list[Listing]] = {}
        for p in items:
            self.by_short.setdefault(p.kind.short, []).append(p)
        self.seen: set[str] = set()
        self.use_kinds = Counter(u for k in KINDS for u in set(k.uses))
        self.shorts = Counter(k.short for k in KINDS)
        self.does = {f: d for k in KINDS for f, d in [*k.features, *gen._shared_features(k)]}

    def relevant(self, short: str, brand: str | None, attrs: dict[str, str],
                 features: tuple[str, ...]) -> list[str] | None:
        """Ids satisfying the constraints, or None when the question is not clean: too many
        relevant, or a product of that kind/brand/features that does not state an asked attribute."""
        same = [p for p in self.by_short[short] if p.satisfies(short, brand, {}, features)]
        if any(k in p.values and k not in p.stated for p in same for k in attrs):
            return None
        # The text must tell the same story as the facts: a listing whose words spell an asked value
        # it does not have ("small farms" for size Small) would be a match by text alone.
        if any((p.values.get(k) == v) != gen._mentions(v, p.text) for p in same for k, v in attrs.items()):
            return None
        ids = sorted(p.id for p in same if p.satisfies(short, brand, attrs, features))
        return ids if 1 <= len(ids) <= MAX_RELEVANT else None

    def catalogue_question(self, target: Listing) -> tuple[str, list[str], dict[str, Any]] | None:
        kind = target.kind
        keys = [k for k in kind.attrs if k in target.stated]
        templates = list(TEMPLATES)
        self.rng.shuffle(templates)
        # a use names the kind only when no other kind has it, and no other kind shares the name
        # relevance goes by (both keyboards)
        own_uses = [u for u in kind.uses if self.use_kinds[u] == 1] if self.shorts[kind.short] == 1 else []
        for template, slots in templates:
            if "kind_use" in slots and not own_uses:
                continue
            n_attrs = sum(s in ("attr", "attr2") for s in slots)
            n_feats = sum(s in ("feature", "feature2", "does") for s in slots)
            attr_sets = list(itertools.permutations(keys, n_attrs))
            feat_sets = list(itertools.permutations(target.features, n_feats))
            self.rng.shuffle(attr_sets)
            self.rng.shuffle(feat_sets)
            for attr_keys, feats in itertools.product(attr_sets[:6], feat_sets[:6]):
                brand = target.brand if "brand" in slots else None
                attrs = {k: target.values[k] for k in attr_keys}
                ids = self.relevant(kind.short, brand, attrs, feats)
                if ids is None:
                    continue
                fill = {"short": kind.short, "a_short": _article(kind.short), "brand": brand or "",
                        "use": self.rng.choice(kind.uses), "kind_use": self.rng.choice(own_uses or kind.uses)}
                for slot, key in zip(("attr", "attr2"), attr_keys):
                    fill[slot] = attr_phrase(key, target.values[key])
                if attr_keys:
                    fill["value"] = _value_words(target.values[attr_keys[0]])
                for slot, feature in zip([s for s in slots if s in ("feature", "feature2", "does")], feats):
                    fill[slot] = self.does[feature] if slot == "does" else feature
                question = cap(template.format(**fill))
                if question not in self.seen:
                    self.seen.add(question)
                    return question, ids, constraints(kind.short, brand, attrs, feats)
        return None

    def qa_question(self, row: dict[str, Any], target: Listing) -> tuple[str, list[str], dict[str, Any]] | None:
        """The Q&A question with "this {short}" made specific by brand and/or features (never an
        attribute value: that could be the answer)."""
        kind = target.kind
        options: list[tuple[str | None, tuple[str, ...]]] = [(target.brand, ())]
        options += [(target.brand, (f,)) for f in target.features] + [(None, (f,)) for f in target.features]
        options += [(target.brand, fs) for fs in itertools.combinations(target.features, 2)]
        for brand, feats in options:
            ids = self.relevant(kind.short, brand, {}, feats)
            if ids is None:
                continue
            ident = f"the {brand + ' ' if brand else ''}{kind.short}"
            if feats:
                ident += " with " + " and ".join(feats)
            text = row["questionText"]
            pattern = re.compile(r"\b(this|the) " + re.escape(kind.short) + r"\b")
            if pattern.search(text):
                question = pattern.sub(ident, text, count=1)
            else:
                question = f"{cap(ident)}: {text[:1].lower()}{text[1:]}"
            if question not in self.seen:
                self.seen.add(question)
                return question, ids, constraints(kind.short, brand, {}, feats)
        return None


def constraints(short: str, brand: str | None, attrs: dict[str, str], features: tuple[str, ...]) -> dict[str, Any]:
    """What a relevant product satisfies, as stored with the question: its kind's everyday name
    (`short` in vocab.py), brand, attribute values and stated features (vocab spelling)."""
    out: dict[str, Any] = {"kind": short}
    if brand:
        out["brand"] = brand
    if attrs:
        out["attributes"] = dict(attrs)
    if features:
        out["features"] = list(features)
    return out


def _generic(row: dict[str, Any], brand: str) -> bool:
    """A question any product gets (shipping, gifts, warranty): nothing in it to retrieve by."""
    return any(row["questionText"] == q.format(brand=brand) for q, *_ in GENERIC_QUESTIONS)


def build(sample: gen.Sample, seed: int = gen.SEED, taxonomy: Taxonomy | None = None) -> list[dict[str, Any]]:
    """The questions, in file order: catalogue questions (QUESTIONS_PER_KIND per kind), then one
    question from qa.jsonl per kind where the kind has an attribute question."""
    taxonomy = taxonomy or Taxonomy.load()
    items = listings(sample, seed, taxonomy)
    by_id = {p.id: p for p in items}
    rng = random.Random(seed + SALT)
    builder = _Builder(items, rng)
    rows: list[dict[str, Any]] = []

    def add(question: str, ids: list[str], facts: dict[str, Any], target: Listing, source: str,
            qa_qid: int | None = None) -> None:
        rows.append({"qid": f"ret-{len(rows) + 1:04d}", "question": question, "relevant": ids,
                     "split": hash_split(target.id), "source": source, "product": target.id, "qa_qid": qa_qid,
                     "constraints": facts})

    for kind in KINDS:
        products = [p for p in items if p.kind is kind]
        rng.shuffle(products)
        made = 0
        for target in products:
            if made == QUESTIONS_PER_KIND:
                break
            found = builder.catalogue_question(target)
            if found is not None:
                add(*found, target, "catalogue")
                made += 1
    qa_by_kind: dict[str, list[dict[str, Any]]] = {}
    for row in sample.qa:
        target = by_id[row["asin"]]
        if not _generic(row, target.brand):
            qa_by_kind.setdefault(target.kind.path, []).append(row)
    for kind in KINDS:
        candidates = qa_by_kind.get(kind.path, [])
        rng.shuffle(candidates)
        for row in candidates:
            found = builder.qa_question(row, by_id[row["asin"]])
            if found is not None:
                add(*found, by_id[row["asin"]], "qa", row["qid"])
                break
    return rows


def to_jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures for the data card."""
    sizes = Counter(len(r["relevant"]) for r in rows)
    return {"questions": len(rows), "by_source": Counter(r["source"] for r in rows),
            "by_split": Counter(r["split"] for r in rows), "relevant_sizes": dict(sorted(sizes.items())),
            "mean_relevant": sum(len(r["relevant"]) for r in rows) / max(len(rows), 1)}


def write(out_dir: str | Path | None = None, seed: int = gen.SEED) -> Path:
    """Generate the sample and write its retrieval.jsonl into `out_dir` (the packaged folder by
    default); the same seed gives the same bytes."""
    out = Path(out_dir) if out_dir is not None else sample_dir()
    out.mkdir(parents=True, exist_ok=True)
    taxonomy = Taxonomy.load()
    path = out / RETRIEVAL_FILE
    path.write_bytes(to_jsonl(build(gen.generate(seed, taxonomy), seed, taxonomy)).encode("utf-8"))
    return path
