"""TuneLab's packaged synthetic sample (written by `scripts/sample_data/` in the repository; see
``data/sample/DATA_CARD.md``) and the hash split it uses. Every sample record carries a ``split``
field: train, validation or test, fixed by `hash_split` of the product id, so a product sits in the
same split in products.jsonl, attributes.jsonl and qa.jsonl (`real`, the hand-labelled real-style titles
of ``data/real/``, is an evaluation split of its own: `load_real_products`). retrieval.jsonl holds shopper questions
over the catalogue with the ids of their relevant products (`load_sample_retrieval`); a question's
split is the split of the product it was written from, and `CATALOGUE_MAPPING` how the catalogue is
ingested for it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from tunelab.data.errors import FieldError
from tunelab.data.readers import read_rows
from tunelab.tasks.ecommerce.datasets.loaders import load_amazonqa, load_mave, load_products, parse_all
from tunelab.tasks.ecommerce.datasets.records import AttributeRecord, Product, QARecord

T = TypeVar("T")

SPLITS = ("train", "validation", "test")
REAL_SPLIT = "real"
"""The hand-labelled real-style titles (`data/real/`): an evaluation split only, kept out of training."""
SAMPLE_FILES = {"products": "products.jsonl", "attributes": "attributes.jsonl", "qa": "qa.jsonl",
                "retrieval": "retrieval.jsonl"}
SPLIT_SALT = "tunelab-ecommerce-sample"
CATALOGUE_MAPPING = "id=id,title=title,text=description+bullet_points,category=category_path,brand=brand,price=price"
"""How products.jsonl is ingested for retrieval.jsonl (`tunelab ingest ... --mapping` form): doc id =
product id; category (the full taxonomy path), brand and price become filterable metadata."""


def hash_split(key: str, *, validation: float = 0.1, test: float = 0.2, salt: str = SPLIT_SALT) -> str:
    """'train', 'validation' or 'test' for `key`, from sha256(salt:key): the same on every machine
    and run, independent of the other keys. With the defaults about 70/10/20."""
    if validation < 0 or test < 0 or validation + test >= 1:
        raise ValueError(f"validation ({validation}) and test ({test}) must be non-negative and sum to less than 1.")
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < 1 - validation - test:
        return "train"
    return "validation" if u < 1 - test else "test"


def sample_dir() -> Path:
    """The folder that holds the packaged sample files."""
    return Path(str(resources.files("tunelab.tasks.ecommerce").joinpath("data", "sample")))


def sample_path(name: str) -> Path:
    """The packaged file of `name` ('products', 'attributes', 'qa' or 'retrieval')."""
    if name not in SAMPLE_FILES:
        raise ValueError(f"Unknown sample file {name!r}: choose one of {', '.join(SAMPLE_FILES)}.")
    return sample_dir() / SAMPLE_FILES[name]


def real_products_path() -> Path:
    """The packaged hand-labelled real-style product titles (`data/real/products.jsonl`)."""
    return Path(str(resources.files("tunelab.tasks.ecommerce").joinpath("data", "real", "products.jsonl")))


def load_real_products() -> list[Product]:
    """The hand-labelled real-style titles (split `real`), checked against the packaged taxonomy."""
    return load_products(real_products_path())


def _load(name: str, loader: Callable[[Path], list[T]], split: str | None) -> list[T]:
    if split is not None and split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}: choose one of {', '.join(SPLITS)} (or None for all).")
    records = loader(sample_path(name))
    return records if split is None else [r for r in records if r.split == split]  # type: ignore[attr-defined]


def load_sample_products(split: str | None = None) -> list[Product]:
    """The sample's labelled products (all, or one split), checked against the packaged taxonomy."""
    return _load("products", load_products, split)


def load_sample_attributes(split: str | None = None) -> list[AttributeRecord]:
    """The sample's MAVE-format attribute-extraction records (all, or one split)."""
    return _load("attributes", load_mave, split)


def load_sample_qa(split: str | None = None) -> list[QARecord]:
    """The sample's AmazonQA-format question records (all, or one split)."""
    return _load("qa", load_amazonqa, split)


class RetrievalQuestion(BaseModel):
    """A question for retrieval evaluation and the ids of the documents that answer it (for the
    sample: product ids, the doc ids of products.jsonl ingested as a catalogue)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    qid: str
    question: str
    relevant: list[str] = Field(min_length=1)
    split: str | None = None
    source: Literal["catalogue", "qa"] | None = None  # what it was written from
    product: str | None = None  # the product it was written from
    qa_qid: int | None = None  # the qa.jsonl question it rewrites
    constraints: dict[str, Any] | None = None  # what makes a document relevant (kind, brand, attributes, features)


def parse_retrieval(row: dict[str, Any]) -> RetrievalQuestion:
    """One retrieval.jsonl row; a bad field raises FieldError naming it."""
    for name in ("qid", "question"):
        if not isinstance(row.get(name), str) or not row[name].strip():
            raise FieldError(name, "missing or not a non-empty string")
    relevant = row.get("relevant")
    if not isinstance(relevant, list) or not relevant:
        raise FieldError("relevant", "expected a non-empty list of document ids")
    for i, doc in enumerate(relevant):
        if not isinstance(doc, str) or not doc.strip():
            raise FieldError(f"relevant[{i}]", f"expected a document id (string), got {doc!r}")
    split = row.get("split")
    if split is not None and split not in SPLITS:
        raise FieldError("split", f"expected one of {', '.join(SPLITS)}, got {split!r}")
    unknown = sorted(set(row) - set(RetrievalQuestion.model_fields))
    if unknown:
        raise FieldError(unknown[0], f"unknown field; fields are: {', '.join(RetrievalQuestion.model_fields)}")
    try:
        return RetrievalQuestion(**row)
    except ValueError as exc:  # pydantic: a wrong type in an optional field
        raise FieldError(None, str(exc).splitlines()[0]) from None


def load_retrieval(path: str | Path) -> list[RetrievalQuestion]:
    """A retrieval question file (JSONL/JSON/CSV rows of qid, question, relevant, split); the first
    bad row raises DatasetError with file, line and field."""

    return parse_all(read_rows(path), parse_retrieval, str(path))


def load_sample_retrieval(split: str | None = None) -> list[RetrievalQuestion]:
    """The sample's retrieval questions over its catalogue (all, or one split)."""
    return _load("retrieval", load_retrieval, split)
