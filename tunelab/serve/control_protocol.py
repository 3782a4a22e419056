"""Request and response models of the control API (jobs, datasets, runs, adapters, evals,
collections): what a dashboard or a script sends and gets next to the OpenAI-compatible routes.
Timestamps are ISO 8601; metric values that are not finite are null."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tunelab.serve.timestamps import UtcDateTime

MAX_INT = 2**53 - 1  # offsets and places: exact in JSON, and within a database's 64-bit integers
MAX_PRIORITY = 2**31 - 1

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- jobs ----------------------------------------------------------------------------------------------

class JobSubmitRequest(_Model):
    kind: str = Field(description="train, eval, ingest, merge, export, quickstart or generate_data.")
    config: dict[str, Any] = Field(default_factory=dict, description="The job's input for its kind.")
    priority: int = Field(default=0, ge=-MAX_PRIORITY, le=MAX_PRIORITY,
                          description="Higher runs first; equal priorities run in queue order.")


class JobMoveRequest(_Model):
    to: int = Field(ge=1, le=MAX_INT, description="The new place in the queue, 1 = next to run.")


class Job(BaseModel):
    object: Literal["job"] = "job"
    id: str
    kind: str
    status: JobStatus
    config: dict[str, Any]
    priority: int
    position: int | None = Field(description="Place in the queue (1 = next) while queued, else null.")
    owner: str | None = Field(description="The API key that submitted it (null: the local CLI).")
    attempts: int
    worker: str | None
    heartbeat_at: UtcDateTime | None
    cancel_requested: bool
    result: dict[str, Any]
    error_type: str | None
    error: str | None
    created_at: UtcDateTime
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None


class JobList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Job]
    total: int = Field(description="How many jobs match the filters, over all pages.")


class JobLog(BaseModel):
    text: str
    next_offset: int = Field(description="The byte offset to ask for next (?offset=).")


# -- datasets ------------------------------------------------------------------------------------------

class Dataset(BaseModel):
    object: Literal["dataset"] = "dataset"
    name: str
    format: str
    source: str
    content_hash: str
    num_records: int
    stats: dict[str, Any]
    preview: list[Any]
    provenance: dict[str, Any] = Field(default_factory=dict, description="What TuneLab made it from, when it did: "
                                       "{\"kind\": \"feedback\", \"feedback_ids\": [...], ...}; empty for an upload.")
    created_at: UtcDateTime | None


class DatasetList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Dataset]


# -- training runs -------------------------------------------------------------------------------------

class MetricPoint(BaseModel):
    step: int
    value: float | None


class RunSummary(BaseModel):
    object: Literal["run"] = "run"
    id: str
    recipe: str
    status: str
    base_model: str
    step: int
    total_steps: int
    adapter_name: str | None
    created_at: UtcDateTime | None
    finished_at: UtcDateTime | None


class Run(RunSummary):
    config: dict[str, Any]
    output_dir: str | None
    final_metrics: dict[str, Any]
    error: str | None
    metrics: dict[str, list[MetricPoint]] = Field(
        description="Each metric's series by step: train_loss, eval_loss, learning_rate...")


class RunList(BaseModel):
    object: Literal["list"] = "list"
    data: list[RunSummary]


# -- adapters ------------------------------------------------------------------------------------------

class Adapter(BaseModel):
    object: Literal["adapter"] = "adapter"
    name: str
    kind: str
    base_model: str
    base_model_hash: str | None
    run_id: str | None
    parents: list[str] = Field(description="The adapters a merged adapter was made from.")
    lineage: dict[str, Any] = Field(description="How it was made: datasets and their hashes, config, seed, "
                                                "library versions, parents.")
    metrics: dict[str, Any]
    wall_time_s: float | None
    created_at: UtcDateTime | None
    run: RunSummary | None = Field(default=None, description="The training run that made it, when known.")


# -- evaluations ---------------------------------------------------------------------------------------

class EvalRun(BaseModel):
    object: Literal["eval_run"] = "eval_run"
    id: str
    task: str
    split: str
    models: list[str] = Field(description="The compared columns, the baseline first.")
    metrics: dict[str, dict[str, float | None]] = Field(description="model -> metric -> value.")
    params: dict[str, Any]
    report_dir: str | None
    status: str
    error: str | None
    created_at: UtcDateTime | None
    duration_s: float | None


class EvalRunList(BaseModel):
    object: Literal["list"] = "list"
    data: list[EvalRun]


class ComparedColumn(BaseModel):
    run_id: str
    model: str
    metrics: dict[str, float | None]
    deltas: dict[str, float | None] = Field(description="metric - the baseline's (the first run's first model).")


class ComparedExample(BaseModel):
    id: str
    input: Any = None
    reference: Any = None
    outputs: dict[str, Any] = Field(description="'run_id/model' -> that column's output for this example.")
    scores: dict[str, Any] = Field(description="'run_id/model' -> that column's score for this example.")


class EvalComparison(BaseModel):
    object: Literal["eval_comparison"] = "eval_comparison"
    runs: list[EvalRun]
    baseline: ComparedColumn | None = Field(description="The first run's first model: what deltas are against.")
    metric_names: list[str]
    columns: list[ComparedColumn]
    examples: list[ComparedExample] = Field(description="Per-example outputs of the runs that stored them "
                                                        "(examples.jsonl in their report), matched by id.")


# -- RAG collections -----------------------------------------------------------------------------------

class CollectionItem(BaseModel):
    object: Literal["collection"] = "collection"
    name: str
    embedding_model: str
    dimension: int
    documents: int
    settings: dict[str, Any]
    created_at: UtcDateTime | None


class CollectionList(BaseModel):
    object: Literal["list"] = "list"
    data: list[CollectionItem]
