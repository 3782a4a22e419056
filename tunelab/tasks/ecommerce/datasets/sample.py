"""TuneLab's packaged synthetic sample (written by `tunelab.tasks.ecommerce.sample.generate`; see
``data/sample/DATA_CARD.md``) and the hash split it uses. Every sample record carries a ``split``
field: train, validation or test, fixed by `hash_split` of the product id, so a product sits in the
same split in products.jsonl, attributes.jsonl and qa.jsonl."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Callable, TypeVar

from tunelab.tasks.ecommerce.datasets.loaders import load_amazonqa, load_mave, load_products
from tunelab.tasks.ecommerce.datasets.records import AttributeRecord, Product, QARecord

T = TypeVar("T")

SPLITS = ("train", "validation", "test")
SAMPLE_FILES = {"products": "products.jsonl", "attributes": "attributes.jsonl", "qa": "qa.jsonl"}
SPLIT_SALT = "tunelab-ecommerce-sample"


def hash_split(key: str, *, validation: float = 0.1, test: float = 0.2, salt: str = SPLIT_SALT) -> str:
    """'train', 'validation' or 'test' for `key`, from sha256(salt:key): the same on every machine
    and run, independent of the other keys. With the defaults about 70/10/20."""
    if validation < 0 or test < 0 or validation + test >= 1:
        raise ValueError(f"validation ({validation}) and test ({test}) must be non-negative and sum to less than 1.")
    digest = hashlib.sha256(f"{salt}:{key}".encode("utf-8")).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < 1 - validation - test:
        return "train"
    return "validation" if u < 1 - test else "test"


def sample_dir() -> Path:
    """The folder that holds the packaged sample files."""
    return Path(str(resources.files("tunelab.tasks.ecommerce").joinpath("data", "sample")))


def sample_path(name: str) -> Path:
    """The packaged file of `name` ('products', 'attributes' or 'qa')."""
    if name not in SAMPLE_FILES:
        raise ValueError(f"Unknown sample file {name!r}: choose one of {', '.join(SAMPLE_FILES)}.")
    return sample_dir() / SAMPLE_FILES[name]


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
