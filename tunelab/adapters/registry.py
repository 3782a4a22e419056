"""The adapter registry: one row per adapter in the store (`adapters` table), keyed by name.

An adapter's files live in a folder (`path`); the ones TuneLab makes live under
`settings.home / "adapters" / NAME` and are deleted with the entry. `lineage` says how the adapter
was made (datasets and their hashes, config, seed, library versions, parents of a merge).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tunelab.adapters.errors import AdapterError, UnknownAdapterError
from tunelab.models.catalogue import NAME_RE
from tunelab.settings import Settings
from tunelab.store import ADAPTERS, RUNS, AdapterEntry, NameTakenError, Store

KINDS = ("lora", "full", "classifier", "merged")


@dataclass(frozen=True)
class AdapterInfo:
    """A registered adapter, as stored (a read-only copy of its row)."""

    name: str
    kind: str
    path: str
    base_model: str
    base_model_hash: str | None = None
    run_id: str | None = None
    lineage: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    wall_time_s: float | None = None
    created_at: datetime | None = None

    @property
    def parents(self) -> list[str]:
        return list(self.lineage.get("parents", []))


def _info(row: AdapterEntry) -> AdapterInfo:
    return AdapterInfo(
        name=row.name, kind=row.kind, path=row.path, base_model=row.base_model,
        base_model_hash=row.base_model_hash, run_id=row.run_id, lineage=dict(row.lineage or {}),
        metrics=dict(row.metrics or {}), wall_time_s=row.wall_time_s, created_at=row.created_at,
    )


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise AdapterError(f"Adapter name '{name}' must be 1-128 letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit.")
    return name


def _json(value: dict, what: str) -> dict:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise AdapterError(f"The adapter's {what} must be JSON (strings, numbers, lists, dicts): {exc}") from None
    return dict(value)


class AdapterRegistry:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings

    def adapters_dir(self) -> Path:
        return self.settings.home / "adapters"

    def path_for(self, name: str) -> Path:
        """Where TuneLab puts the files of adapter `name` it makes (training, merges)."""
        return self.adapters_dir() / check_name(name)

    def names(self) -> list[str]:
        return ADAPTERS.names(self.store)

    def list(self) -> list[AdapterInfo]:
        return [_info(r) for r in ADAPTERS.all(self.store)]

    def get(self, name: str) -> AdapterInfo:
        row = ADAPTERS.find(self.store, name)
        if row is None:
            raise UnknownAdapterError(name, self.names())
        return _info(row)

    def exists(self, name: str) -> bool:
        return ADAPTERS.exists(self.store, name)

    def check_new_name(self, name: str) -> None:
        """Refuse a name that is malformed or taken, before any work is done under it."""
        check_name(name)
        if self.exists(name):
            raise AdapterError(f"An adapter named '{name}' already exists; pick another name or remove it "
                               f"first with: tunelab adapters rm {name}")

    def register(
        self,
        name: str,
        *,
        kind: str,
        path: str | Path,
        base_model: str,
        base_model_hash: str | None = None,
        run_id: str | None = None,
        lineage: dict | None = None,
        metrics: dict | None = None,
        wall_time_s: float | None = None,
    ) -> AdapterInfo:
        """Record an adapter whose files are already in `path`; refuses a taken name."""
        self.check_new_name(name)
        if kind not in KINDS:
            raise AdapterError(f"Adapter kind '{kind}' is not one of: {', '.join(KINDS)}.")
        folder = Path(path).expanduser().resolve()
        if not folder.is_dir():
            raise AdapterError(f"Adapter folder {folder} does not exist.")
        if kind == "lora" and not (folder / "adapter_config.json").is_file():
            raise AdapterError(f"{folder} has no adapter_config.json: not a PEFT adapter folder.")
        lineage, metrics = _json(lineage or {}, "lineage"), _json(metrics or {}, "metrics")
        # Runs are never deleted, so a run found here is still there when the adapter commits.
        if run_id is not None and RUNS.by_key(self.store, run_id) is None:
            raise AdapterError(f"No training run '{run_id}' exists to link adapter '{name}' to.")
        try:
            ADAPTERS.add(self.store, name=name, kind=kind, path=str(folder), base_model=base_model,
                         base_model_hash=base_model_hash, run_id=run_id, lineage=lineage, metrics=metrics,
                         wall_time_s=wall_time_s)
        except NameTakenError as exc:  # another process registered the same name in between
            raise AdapterError(str(exc)) from None
        return self.get(name)

    def owns_files(self, info: AdapterInfo) -> bool:
        """True when the adapter's folder is under the TuneLab home (so removing it deletes them)."""
        return Path(info.path).resolve().is_relative_to(self.settings.home.resolve())

    def remove(self, name: str) -> AdapterInfo:
        """Delete the entry, and its folder when that is under the home dir (files elsewhere stay)."""
        row = ADAPTERS.remove(self.store, name)
        if row is None:
            raise UnknownAdapterError(name, self.names())
        info = _info(row)
        # Files go after the entry: a leftover folder is harmless, an entry without files is not.
        if self.owns_files(info):
            shutil.rmtree(info.path, ignore_errors=True)
        return info
