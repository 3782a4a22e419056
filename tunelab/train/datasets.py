"""Resolve a recipe's `dataset` (a registered name or a file path) into records plus lineage."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tunelab.data import dataset_hash, load_dataset, load_llamafactory, train_val_split
from tunelab.data.records import Record
from tunelab.data.registry import DatasetRegistry
from tunelab.settings import Settings
from tunelab.store import Store


@dataclass
class ResolvedData:
    train: list[Record]
    eval: list[Record]
    lineage: list[dict]  # [{"name", "path", "hash", "records", "role"}]
    skipped: list = field(default_factory=list)


def _records(ref: str, fmt: str | None, skip_invalid: bool, settings: Settings, store: Store,
             dataset_dir: str | None = None, skipped: list | None = None):
    if dataset_dir:  # LLaMA-Factory: one or more entries of dataset_info.json, concatenated
        records = []
        for name in (n.strip() for n in ref.split(",") if n.strip()):
            loaded = load_llamafactory(dataset_dir, name, skip_invalid=skip_invalid)
            records += loaded.records
            if skipped is not None and loaded.report.skipped:
                skipped.append((f"{dataset_dir}:{name}", loaded.report))
        return records, {"name": ref, "path": str(Path(dataset_dir).resolve())}
    path = Path(ref).expanduser()
    if path.is_file():
        loaded = load_dataset(path, fmt, skip_invalid=skip_invalid)
        if skipped is not None and loaded.report.skipped:
            skipped.append((str(path), loaded.report))
        return loaded.records, {"name": None, "path": str(path.resolve())}
    registry = DatasetRegistry(store, settings)
    info = registry.get(ref)  # unknown: an error that lists the registered datasets
    return registry.load(ref), {"name": info.name, "path": info.path}


def resolve_data(*, dataset: str, eval_dataset: str | None, fmt: str | None, skip_invalid: bool,
                 val_fraction: float, seed: int, settings: Settings, store: Store,
                 dataset_dir: str | None = None) -> ResolvedData:
    """Training and eval records. Skipped invalid records (with `skip_invalid`) are listed in
    `ResolvedData.skipped` as (source, SkipReport)."""
    skipped: list = []
    records, where = _records(dataset, fmt, skip_invalid, settings, store, dataset_dir, skipped)
    lineage = [{**where, "hash": dataset_hash(records), "records": len(records), "role": "train"}]
    if eval_dataset:
        train = records
        held, ewhere = _records(eval_dataset, fmt, skip_invalid, settings, store, dataset_dir, skipped)
        lineage.append({**ewhere, "hash": dataset_hash(held), "records": len(held), "role": "eval"})
    elif val_fraction > 0 and len(records) > 1:
        train, held = train_val_split(records, val_fraction, seed=seed)
    else:
        train, held = records, []
    if not train:
        raise ValueError(f"Dataset {dataset} leaves no training records after the validation split.")
    return ResolvedData(train, held, lineage, skipped)


def data_for(cfg, settings: Settings, store: Store, console=None) -> ResolvedData:
    """`resolve_data` from a recipe config; prints what `skip_invalid` left out."""
    data = resolve_data(dataset=cfg.dataset, eval_dataset=cfg.eval_dataset, fmt=cfg.dataset_format,
                        skip_invalid=cfg.skip_invalid, val_fraction=cfg.val_fraction, seed=cfg.seed,
                        settings=settings, store=store, dataset_dir=cfg.dataset_dir)
    for source, report in data.skipped if console else ():
        console.print(f"[yellow]{source}: skipped {report.skipped} of {report.total} invalid records[/]; first: "
                      + "; ".join(report.reasons[:3]), highlight=False)
    return data
