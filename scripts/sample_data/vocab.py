"""Hand-written vocabularies for the synthetic sample, loaded from `vocab.json` next to this file:
invented brand names per top-level category and, per product kind, its Google Product Taxonomy
path, the nouns a listing uses, attribute values, features (with what each does) and uses. Every
name there was made up for TuneLab; any likeness to a real brand is a coincidence.

Tables (`generate.py` turns them into products, attribute records and Q&A):
- `BRANDS`: top-level category -> brand names;
- `KINDS`: the product kinds, in generation order (each one taxonomy category);
- `TOP_FEATURES`: features any product of a top-level category may list, and `GROUP_FEATURES`
  those shared by kinds that are easy to confuse (kind `short` -> group in `KIND_GROUPS`; both
  keyboards share 'keyboard'), so a category cannot be told from one unique phrase;
- `SHARED_USES`: uses any product may name; `MODEL_NAMES`: names that sometimes stand in for the
  product noun in a title."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

VOCAB_FILE = Path(__file__).with_name("vocab.json")


@dataclass(frozen=True)
class Kind:
    """One product kind, labelled with one taxonomy category.

    `attrs` maps an attribute name (MAVE-style Title Case key) to the values a product of this kind
    may have, spelled as they appear in text. `features` are (feature, what it does) pairs: a noun
    phrase and a clause, so one feature can become a bullet, a sentence or a review snippet."""

    path: str
    short: str  # one item, as a shopper would say it after "this" or "a"
    nouns: tuple[str, ...]
    attrs: dict[str, tuple[str, ...]]
    features: tuple[tuple[str, str], ...]
    uses: tuple[str, ...]
    price: tuple[int, int]


def _pairs(rows: list[list[str]]) -> tuple[tuple[str, str], ...]:
    return tuple((feature, does) for feature, does in rows)


def _kind(row: dict) -> Kind:
    return Kind(path=row["path"], short=row["short"], nouns=tuple(row["nouns"]),
                attrs={key: tuple(values) for key, values in row["attrs"].items()},
                features=_pairs(row["features"]), uses=tuple(row["uses"]), price=(row["price"][0], row["price"][1]))


_VOCAB = json.loads(VOCAB_FILE.read_text(encoding="utf-8"))

BRANDS: dict[str, tuple[str, ...]] = {top: tuple(names) for top, names in _VOCAB["brands"].items()}
KINDS: tuple[Kind, ...] = tuple(_kind(row) for row in _VOCAB["kinds"])
TOP_FEATURES: dict[str, tuple[tuple[str, str], ...]] = {top: _pairs(rows) for top, rows in _VOCAB["top_features"].items()}
GROUP_FEATURES: dict[str, tuple[tuple[str, str], ...]] = {
    group: _pairs(rows) for group, rows in _VOCAB["group_features"].items()}
KIND_GROUPS: dict[str, str] = dict(_VOCAB["kind_groups"])
SHARED_USES: tuple[str, ...] = tuple(_VOCAB["shared_uses"])
MODEL_NAMES: tuple[str, ...] = tuple(_VOCAB["model_names"])
