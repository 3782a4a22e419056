"""The evaluation texts a curate run decontaminates against, one `--against` value each:

- `TASK:SPLIT`: a split of the packaged e-commerce sample an eval task reads (classify, extract, qa,
  retrieval; train, validation or test), e.g. `qa:test`, or `classify:real` (the hand-labelled
  real-style product titles);
- a file (JSON, JSONL, CSV, Parquet; any other file line by line), optionally `FILE:SPLIT` to keep
  the rows whose `split` field is SPLIT;
- a registered dataset's name.

Every string value of a row is one text (a question, an answer, a description), so an n-gram never
spans two fields."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tunelab.data.errors import DatasetError
from tunelab.data.readers import SUFFIXES, read_rows
from tunelab.data.records import record_to_row
from tunelab.data.registry import DatasetRegistry
from tunelab.datagen.errors import DatagenError
from tunelab.settings import Settings
from tunelab.store import Store

SPLITS = ("train", "validation", "test", "real")  # real: classify's hand-labelled titles only
TASK_FILES = {"classify": "products", "extract": "attributes", "qa": "qa", "retrieval": "retrieval"}


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def _file_texts(path: Path, split: str | None, spec: str) -> list[str]:
    if path.suffix.lower() not in SUFFIXES:
        if split is not None:
            raise DatagenError(f"--against {spec}: a {path.suffix or 'plain'} file has no split field to pick {split}.")
        return [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    texts, matched = [], 0
    try:
        for row in read_rows(path):
            if not isinstance(row.data, dict):
                continue
            if split is not None and row.data.get("split") != split:
                continue
            matched += 1
            texts.extend(strings({k: v for k, v in row.data.items() if k != "split"}))
    except DatasetError as exc:
        raise DatagenError(f"--against {spec}: {exc}") from None
    if split is not None and not matched:
        raise DatagenError(f"--against {spec}: no row of {path} has split '{split}'.")
    return texts


def against_texts(spec: str, settings: Settings, store: Store) -> list[str]:
    """The texts of one --against value; DatagenError saying which forms exist when it is none of them."""
    head, _, tail = spec.rpartition(":")
    split = tail if head and tail in SPLITS else None
    target = head if split else spec
    if split and target in TASK_FILES:
        from tunelab.tasks.ecommerce.datasets import (  # lazy: only a sample split needs the pack
            real_products_path,
            sample_path,
        )

        if split == "real" and target != "classify":
            raise DatagenError(f"--against {spec}: only classify has a real split (classify:real).")
        return _file_texts(real_products_path() if split == "real" else sample_path(TASK_FILES[target]), split, spec)
    path = Path(target).expanduser()
    if path.is_file():
        return _file_texts(path, split, spec)
    registry = DatasetRegistry(store, settings)
    if not split and spec in registry.names():
        return [t for r in registry.load(spec) for t in strings(record_to_row(r))]
    raise DatagenError(f"--against {spec}: not TASK:SPLIT (tasks {', '.join(TASK_FILES)}; splits "
                       f"{', '.join(SPLITS)}), a file (optionally FILE:SPLIT) or a registered dataset "
                       f"({', '.join(registry.names()) or 'none yet'}).")
