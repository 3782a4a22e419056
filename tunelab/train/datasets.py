"""Resolve a recipe's `dataset` (a registered name or a file path) into records plus lineage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tunelab.data import dataset_hash, load_dataset, train_val_split
from tunelab.data.records import Record
from tunelab.data.registry import DatasetRegistry
from tunelab.settings import Settings
from tunelab.store import Store


@dataclass
class ResolvedData:
    train: list[Record]
    eval: list[Record]
    lineage: list[dict]  # [{"name", "path", "hash", "records", "role"}]


def _records(ref: str, fmt: str | None, skip_invalid: bool, settings: Settings, store: Store):
    path = Path(ref).expanduser()
    if path.is_file():
        loaded = load_dataset(path, fmt, skip_invalid=skip_invalid)
        return loaded.records, {"name": None, "path": str(path.resolve())}
    registry = DatasetRegistry(store, settings)
    info = registry.get(ref)  # unknown: an error that lists the registered datasets
    return registry.load(ref), {"name": info.name, "path": info.path}


def resolve_data(*, dataset: str, eval_dataset: str | None, fmt: str | None, skip_invalid: bool,
                 val_fraction: float, seed: int, settings: Settings, store: Store) -> ResolvedData:
    records, where = _records(dataset, fmt, skip_invalid, settings, store)
    lineage = [{**where, "hash": dataset_hash(records), "records": len(records), "role": "train"}]
    if eval_dataset:
        train = records
        held, ewhere = _records(eval_dataset, fmt, skip_invalid, settings, store)
        lineage.append({**ewhere, "hash": dataset_hash(held), "records": len(held), "role": "eval"})
    elif val_fraction > 0 and len(records) > 1:
        train, held = train_val_split(records, val_fraction, seed=seed)
    else:
        train, held = records, []
    if not train:
        raise ValueError(f"Dataset {dataset} leaves no training records after the validation split.")
    return ResolvedData(train, held, lineage)
