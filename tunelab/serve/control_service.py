"""What the control routes read and write besides jobs, on `app.state.control`: datasets (list, and
add an uploaded file, validated as `tunelab data validate` does), training runs with their metric
series, adapters with lineage, evaluation runs and their comparison, RAG collections. Every method
is blocking (the store, files): routes call them in a worker thread. Returns the response models."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO

from tunelab.adapters.registry import AdapterRegistry
from tunelab.data.errors import DatasetError
from tunelab.data.registry import DatasetRegistry, RegisteredDataset
from tunelab.eval.compare import compare_runs
from tunelab.eval.results import json_safe
from tunelab.eval.runs import EvalRunInfo, get_run, list_runs
from tunelab.rag.registry import CollectionRegistry
from tunelab.serve import control_protocol as p
from tunelab.settings import Settings
from tunelab.store import RUNS, Store
from tunelab.store import Run as RunRow
from tunelab.train.runs import RunRecorder
from tunelab.train.runs import list_runs as list_train_runs

UPLOAD_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")


def dataset_view(d: RegisteredDataset) -> p.Dataset:
    return p.Dataset(name=d.name, format=d.format, source=d.source, content_hash=d.content_hash,
                     num_records=d.num_records, stats=json_safe(d.stats), preview=json_safe(d.preview),
                     provenance=json_safe(d.provenance), created_at=d.created_at)


def _run_summary(r: RunRow) -> p.RunSummary:
    return p.RunSummary(id=r.id, recipe=r.recipe, status=r.status, base_model=r.base_model, step=r.step or 0,
                        total_steps=r.total_steps or 0, adapter_name=r.adapter_name, created_at=r.created_at,
                        finished_at=r.finished_at)


def _eval(e: EvalRunInfo) -> p.EvalRun:
    return p.EvalRun(**{**asdict(e), "metrics": json_safe(e.metrics), "params": json_safe(e.params)})


class ControlService:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.datasets = DatasetRegistry(store, settings)
        self.adapters = AdapterRegistry(store, settings)
        self.collections = CollectionRegistry(store, settings)

    # -- datasets ----------------------------------------------------------------------------------

    def list_datasets(self) -> p.DatasetList:
        return p.DatasetList(data=[dataset_view(d) for d in self.datasets.list()])

    def add_dataset(self, name: str, filename: str, content: BinaryIO, format: str | None = None) -> p.Dataset:
        """Validate and register an uploaded file. The upload waits in a temporary folder outside the
        home dir; an invalid file raises DatasetError naming the uploaded file, its line and field,
        and leaves nothing behind (the registry writes its copy only for a valid file)."""
        shown = Path(filename or "upload.jsonl").name
        if not shown.lower().endswith(UPLOAD_SUFFIXES):
            raise DatasetError(shown, f"unsupported file type; upload one of: {', '.join(UPLOAD_SUFFIXES)}")
        with tempfile.TemporaryDirectory(prefix="tunelab-upload-") as tmp:
            path = Path(tmp) / shown
            with path.open("wb") as f:
                shutil.copyfileobj(content, f)
            try:
                info = self.datasets.add(path, name, format, source=f"upload:{shown}")
            except DatasetError as exc:  # name the file the client sent, not the temporary copy
                raise DatasetError(shown, exc.reason, line=exc.line, record=exc.record, field=exc.field) from None
            except ValueError as exc:
                raise type(exc)(str(exc).replace(str(path), shown)) from None
        return dataset_view(info)

    # -- training runs -----------------------------------------------------------------------------

    def list_runs(self, limit: int = 50) -> p.RunList:
        return p.RunList(data=[_run_summary(r) for r in list_train_runs(self.store)[:limit]])

    def get_run(self, run_id: str) -> p.Run:
        r = RunRecorder(self.store, run_id).get()  # UnknownRunError naming recent runs
        series = {name: [p.MetricPoint(step=s, value=json_safe(v)) for s, v in points]
                  for name, points in RUNS.all_metrics(self.store, run_id).items()}
        return p.Run(**_run_summary(r).model_dump(exclude={"object"}), config=r.config or {},
                     output_dir=r.output_dir, final_metrics=json_safe(r.final_metrics or {}), error=r.error,
                     metrics=series)

    # -- adapters ----------------------------------------------------------------------------------

    def get_adapter(self, name: str) -> p.Adapter:
        a = self.adapters.get(name)  # UnknownAdapterError listing the known ones
        run = RUNS.by_key(self.store, a.run_id) if a.run_id else None
        return p.Adapter(name=a.name, kind=a.kind, base_model=a.base_model, base_model_hash=a.base_model_hash,
                         run_id=a.run_id, parents=a.parents, lineage=json_safe(a.lineage),
                         metrics=json_safe(a.metrics), wall_time_s=a.wall_time_s, created_at=a.created_at,
                         run=_run_summary(run) if run is not None else None)

    # -- evaluations -------------------------------------------------------------------------------

    def list_evals(self, limit: int = 50, task: str | None = None) -> p.EvalRunList:
        return p.EvalRunList(data=[_eval(e) for e in list_runs(self.store, limit=limit, task=task)])

    def get_eval(self, run_id: str) -> p.EvalRun:
        return _eval(get_run(self.store, run_id))

    def compare_evals(self, ids: list[str]) -> p.EvalComparison:
        c = compare_runs(self.store, ids)
        return p.EvalComparison(runs=[_eval(e) for e in c["runs"]], baseline=c["baseline"],
                                metric_names=c["metric_names"], columns=c["columns"], examples=c["examples"])

    # -- RAG collections ---------------------------------------------------------------------------

    def list_collections(self) -> p.CollectionList:
        return p.CollectionList(data=[
            p.CollectionItem(name=c.name, embedding_model=c.embedding_model, dimension=c.dimension,
                             documents=self.collections.count_documents(c), settings=json_safe(c.settings),
                             created_at=c.created_at)
            for c in self.collections.list()])
