"""The dataset registry: `add` loads a file (any format `load_dataset` reads), writes a normalised
JSONL copy to `settings.home / "datasets" / NAME.jsonl` and records its content hash, record count,
statistics and a three-record preview in the store; `load` reads the copy back, checking the hash.

The copy is in TuneLab's own format for its record kind (messages, preference, classification,
text), so training never depends on the user's file staying where it was.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from tunelab.data.hashing import dataset_hash
from tunelab.data.loader import load_dataset
from tunelab.data.records import Record, record_to_row
from tunelab.data.stats import Tokenize, dataset_stats
from tunelab.data.writers import write_jsonl
from tunelab.models.catalogue import NAME_RE
from tunelab.settings import Settings
from tunelab.store import DATASETS, DatasetEntry, NameTakenError, Store, UnknownNameError

# The format each record kind is written in (and so read back with).
NATIVE_FORMAT = {"chat": "messages", "preference": "preference", "classification": "classification", "text": "text"}
PREVIEW = 3


class DatasetRegistryError(ValueError):
    """A dataset name that is taken, malformed or unknown, or a copy that changed on disk."""


class UnknownDatasetError(DatasetRegistryError, UnknownNameError):
    kind = "dataset"
    hint = "Add one with: tunelab data add FILE --name NAME"


@dataclass(frozen=True)
class RegisteredDataset:
    """A registered dataset, as stored: `path` is the normalised copy, `source` the file given,
    `format` the copy's format (`stats["source_format"]` the original's), `provenance` what TuneLab
    made it from when it did (e.g. {"kind": "feedback", "feedback_ids": [...]}; empty for a user's file)."""

    name: str
    path: str
    source: str
    format: str
    content_hash: str
    num_records: int
    stats: dict = field(default_factory=dict)
    preview: list = field(default_factory=list)
    created_at: datetime | None = None
    provenance: dict = field(default_factory=dict)


def _checked(name: str) -> str:
    if not NAME_RE.match(name):
        raise DatasetRegistryError(f"Dataset name '{name}' must be 1-128 letters, digits, '.', '_' or '-', "
                                   "starting with a letter or digit.")
    return name


def _info(row: DatasetEntry) -> RegisteredDataset:
    return RegisteredDataset(
        name=row.name, path=row.path, source=row.source, format=row.format, content_hash=row.content_hash,
        num_records=row.num_records, stats=dict(row.stats or {}), preview=list(row.preview or []),
        created_at=row.created_at, provenance=dict(row.provenance or {}),
    )


class DatasetRegistry:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings

    def datasets_dir(self) -> Path:
        return self.settings.home / "datasets"

    def path_for(self, name: str) -> Path:
        """Where the normalised copy of dataset `name` lives."""
        return self.datasets_dir() / f"{_checked(name)}.jsonl"

    def names(self) -> list[str]:
        return DATASETS.names(self.store)

    def list(self) -> list[RegisteredDataset]:
        return [_info(r) for r in DATASETS.all(self.store)]

    def get(self, name: str) -> RegisteredDataset:
        row = DATASETS.find(self.store, name)
        if row is None:
            raise UnknownDatasetError(name, self.names())
        return _info(row)

    def _check_new_name(self, name: str) -> None:
        _checked(name)
        if name in self.names():
            raise DatasetRegistryError(f"A dataset named '{name}' already exists; pick another name or remove it "
                                       f"first with: tunelab data rm {name}")

    def add(
        self,
        path: str | Path,
        name: str,
        format: str | None = None,
        skip_invalid: bool = False,
        tokenizer: Tokenize | None = None,
        tokenizer_name: str | None = None,
        source: str | None = None,
        provenance: dict | None = None,
        lineage: dict | None = None,
    ) -> RegisteredDataset:
        """Load `path`, copy it normalised under the home dir and register it as `name`. Lengths in
        `stats` are in tokens of `tokenizer` (``str -> sequence``) when given, else characters.
        `source`: what to record as where it came from (default: the file's absolute path; an upload
        names its file); `provenance`: what the records were made from (feedback ids), `lineage`: how it
        was made (generated from documents, curated from a dataset), kept as `stats["lineage"]`. Raises
        DatasetError for an invalid file (nothing is written or registered then)."""
        self._check_new_name(name)
        loaded = load_dataset(path, format, skip_invalid=skip_invalid)
        records = loaded.records
        stats = asdict(dataset_stats(records, tokenizer or list))
        stats.update(
            length_unit="tokens" if tokenizer else "characters", tokenizer=tokenizer_name if tokenizer else None,
            source_format=loaded.format, skipped=loaded.report.skipped, skip_reasons=list(loaded.report.reasons),
        )
        if lineage is not None:
            stats["lineage"] = lineage
        final = self.path_for(name)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.partial")
        published = False

        def publish() -> None:  # runs once the entry holds the name (unique), before it commits
            nonlocal published
            write_jsonl(records, tmp)
            os.replace(tmp, final)
            published = True

        try:
            DATASETS.add(
                self.store, while_claimed=publish, name=name, path=str(final),
                source=source or str(Path(path).expanduser().resolve()), format=NATIVE_FORMAT[records[0].kind],
                content_hash=dataset_hash(records), num_records=len(records), stats=stats,
                preview=[record_to_row(r) for r in records[:PREVIEW]], provenance=dict(provenance or {}),
            )
        except BaseException as exc:
            if published:  # the entry did not commit: its file goes too
                final.unlink(missing_ok=True)
            if isinstance(exc, NameTakenError):  # another process added the same name in between
                raise DatasetRegistryError(str(exc)) from None
            raise
        finally:
            tmp.unlink(missing_ok=True)
        return self.get(name)

    def load(self, name: str, *, verify: bool = True) -> list[Record]:
        """The records of dataset `name`, read from its copy; with `verify`, refuses a copy whose
        content hash no longer matches the one recorded."""
        info = self.get(name)
        if not Path(info.path).is_file():
            raise DatasetRegistryError(f"The copy of dataset '{name}' ({info.path}) is missing; remove the entry "
                                       f"(tunelab data rm {name}) and add the file again.")
        records = load_dataset(info.path, info.format).records
        if verify and dataset_hash(records) != info.content_hash:
            raise DatasetRegistryError(f"The copy of dataset '{name}' ({info.path}) changed since it was added "
                                       f"(content hash differs); add it again under a new name.")
        return records

    def remove(self, name: str) -> RegisteredDataset:
        """Delete the entry and its normalised copy (the file the user gave is left alone)."""
        row = DATASETS.remove(self.store, name)
        if row is None:
            raise UnknownDatasetError(name, self.names())
        Path(row.path).unlink(missing_ok=True)
        return _info(row)
