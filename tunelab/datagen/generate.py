"""`generate_dataset(config, settings, store)`: records made by a model from documents, written as they
finish to `<home>/datagen/NAME.partial.jsonl`, then registered as dataset NAME with lineage to its
sources; `<home>/datagen/NAME.jsonl` keeps every record with the chunk it came from, for review.

Resumable: a rerun with the same NAME (and the same settings and source text) asks only for the items
not finished yet. A model that fails after its retries (the upstream client retries 429 and 5xx with
backoff, honouring Retry-After) stops the run with `GenerationStopped`; what was made stays.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from tunelab.adapters.registry import AdapterRegistry
from tunelab.data.registry import DatasetRegistry, RegisteredDataset
from tunelab.datagen.config import GenerateConfig
from tunelab.datagen.errors import DatagenError, GenerationStopped
from tunelab.datagen.partial import Made, PartialFile
from tunelab.datagen.records import Generators, make_item
from tunelab.datagen.sources import SourceChunk, load_chunks, resolve_kind
from tunelab.progress import Progress
from tunelab.rag.chunk import ChunkConfig
from tunelab.rag.documents import Failure
from tunelab.rag.mapping import FieldMapping
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.tasks.local import open_task_models
from tunelab.tasks.model import TaskModelError

TRIES_PER_RECORD = 3  # items asked at most, per record wanted, before a run that keeps skipping gives up


@dataclass
class GenerateResult:
    dataset: RegisteredDataset
    records_file: str  # every record with its chunk (`meta`)
    made_now: int  # records made by this run (the rest came from the run it continued)
    skipped: dict[str, int] = field(default_factory=dict)  # why items gave no record -> how many
    failures: list[Failure] = field(default_factory=list)  # sources that gave no text, with why


def datagen_dir(settings: Settings) -> Path:
    return settings.home / "datagen"


def _absolute(spec: str, settings: Settings, store: Store) -> str:
    kind, value = resolve_kind(spec, settings, store)
    return str(Path(value).expanduser().resolve()) if kind == "files" else spec


def _chunks_digest(chunks: list[SourceChunk]) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(json.dumps([c.source, c.text]).encode())
    return h.hexdigest()[:16]


def _base_model(spec: str, cfg: GenerateConfig, settings: Settings, store: Store) -> str | None:
    """rejected=base: the base model of adapter `spec` (which writes the rejected answers)."""
    if cfg.rejected != "base":
        return None
    adapters = AdapterRegistry(store, settings)
    if not adapters.exists(spec):
        raise DatagenError(f"rejected=base needs an adapter as the model (its base model writes the rejected "
                           f"answers); '{spec}' is not an adapter. Use no_context or temperature.")
    return adapters.get(spec).base_model


def _check_name(cfg: GenerateConfig, registry: DatasetRegistry) -> None:
    if cfg.name in registry.names():
        raise DatagenError(f"A dataset named '{cfg.name}' already exists; pick another --name or remove it first "
                           f"with: tunelab data rm {cfg.name}")


async def generate_dataset(cfg: GenerateConfig, settings: Settings, store: Store, *, console: Console | None = None,
                           progress: bool = True) -> GenerateResult:
    registry = DatasetRegistry(store, settings)
    _check_name(cfg, registry)
    spec = cfg.model or settings.default_model
    base = _base_model(spec, cfg, settings, store)
    chunks, failures = load_chunks(cfg.sources, settings, store, chunking=ChunkConfig(size=cfg.chunk_size, overlap=0),
                                   mapping=FieldMapping.parse(cfg.mapping))
    header = {**cfg.fingerprint(), "model": spec, "sources": [_absolute(s, settings, store) for s in cfg.sources],
              "chunks": len(chunks), "chunks_sha256": _chunks_digest(chunks)}
    partial = PartialFile(datagen_dir(settings) / f"{cfg.name}.partial.jsonl", header)
    made = partial.open(restart=cfg.restart)
    earlier = len(made.rows)
    if earlier < cfg.n:
        specs = [spec] + ([base] if base else [])
        async with open_task_models(specs, settings, store) as opened:
            models = Generators(opened[0], opened[1] if base else None)
            await _run(cfg, chunks, models, partial, made, settings, console, progress)
    return _finish(cfg, header, made, partial, registry, failures, made_now=len(made.rows) - earlier)


async def _run(cfg: GenerateConfig, chunks: list[SourceChunk], models: Generators, partial: PartialFile, made: Made,
               settings: Settings, console: Console | None, progress: bool) -> None:
    """Items not finished yet, `cfg.concurrency` at a time, until `cfg.n` records exist."""
    limit = TRIES_PER_RECORD * cfg.n + 16
    done = made.done()
    todo = iter(i for i in range(limit) if i not in done)
    in_flight = 0
    bar = Progress(console, f"generate {cfg.name}", total=cfg.n, completed=len(made.rows), noun="records",
                   rate_unit="records", fields={"skipped": "skipped {}"}, interval_s=settings.progress_interval_s,
                   enabled=progress)

    async def worker() -> None:
        nonlocal in_flight
        while len(made.rows) + in_flight < cfg.n:
            index = next(todo, None)
            if index is None:
                return
            in_flight += 1
            try:
                item = await make_item(index, chunks, models, cfg)
            finally:
                in_flight -= 1
            partial.append(item)
            if "row" in item:
                made.rows[index] = item["row"]
            else:
                made.skipped[index] = item["skipped"]
            bar.update(len(made.rows), skipped=len(made.skipped))

    with bar:
        bar.update(len(made.rows), skipped=len(made.skipped))
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(cfg.concurrency, cfg.n)):
                    group.create_task(worker())
        except* TaskModelError as failed:
            reason = failed.exceptions[0]
            raise GenerationStopped(
                f"The model kept failing, so the run stopped: {reason}. {len(made.rows)} of {cfg.n} records are "
                f"kept in {partial.path}; run the same command again to continue.",
                made=len(made.rows), partial=str(partial.path)) from None
    if len(made.rows) < cfg.n:
        why = ", ".join(f"{n} {r}" for r, n in _counts(made).items())
        raise GenerationStopped(
            f"Only {len(made.rows)} of {cfg.n} records after {len(made.done())} tries ({why}); they are kept in "
            f"{partial.path}. Ask for fewer (--n {len(made.rows)}) to register them, or try another model or "
            "source.", made=len(made.rows), partial=str(partial.path))


def _counts(made: Made) -> dict[str, int]:
    counts: dict[str, int] = {}
    for why in made.skipped.values():
        counts[why] = counts.get(why, 0) + 1
    return counts


def _finish(cfg: GenerateConfig, header: dict, made: Made, partial: PartialFile, registry: DatasetRegistry,
            failures: list[Failure], *, made_now: int) -> GenerateResult:
    """Write the records file (every record with its chunk), register the dataset, drop the partial file."""
    rows = [made.rows[i] for i in sorted(made.rows)][: cfg.n]
    records_file = partial.path.with_name(f"{cfg.name}.jsonl")
    tmp = records_file.with_name(f".{records_file.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    os.replace(tmp, records_file)
    skipped = _counts(made)
    lineage = {"generated_from": header["sources"], "model": header["model"], "kind": cfg.kind,
               "records_file": str(records_file), "chunks": header["chunks"], "skipped": skipped,
               "settings": {k: v for k, v in header.items() if k not in ("sources", "model", "kind", "name")}}
    info = registry.add(records_file, cfg.name, source=f"generated from {', '.join(header['sources'])}",
                        lineage=lineage)
    partial.path.unlink(missing_ok=True)
    return GenerateResult(dataset=info, records_file=str(records_file), made_now=made_now, skipped=skipped,
                          failures=failures)
