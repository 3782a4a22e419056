"""The kinds of job and their input. `validate(kind, config, settings)` checks a job's input when it
is submitted, with the same messages the CLI gives for the same mistake, and returns it normalized
(what the job will run with, as plain JSON); a bad input raises `JobConfigError` and is never queued.

Inputs: train {"recipe": {...recipe fields...}, "eval_after"?: {...}} (or {"resume": RUN_ID}; eval_after:
the follow-up evaluation of the new adapter against its parent, see `jobs.eval_after`); eval {"eval": {...eval
config fields...}}; ingest {"sources": [...], "collection": NAME, ...}; merge {"adapters": [...],
"name": NAME, "weights"?, "method"?, "density"?}; export {"adapter": NAME, "out"? (default:
<home>/exports/NAME), "merged"?}; quickstart {"model"?, "adapter"?, "retrain"?, "max_steps"?, "limit"?}; generate_data {"sources": [...],
"kind", "n", "name", "model"?, ...the other `GenerateConfig` fields}; scheduled_eval {"schedule": NAME} (one
run of a scheduled evaluation and its alerts, `jobs.schedules`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tunelab.datagen.config import GenerateConfig
from tunelab.eval.config import eval_config_from
from tunelab.eval.gate import GateError, check_metrics_known, parse_gate
from tunelab.eval.tasks import get_task
from tunelab.jobs.eval_after import parent_of
from tunelab.settings import Settings
from tunelab.train.config import parse_config


class JobConfigError(ValueError):
    """A job's input is not valid; the message names the field and why (a 400 over HTTP)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IngestInput(_Input):
    sources: list[str] = Field(min_length=1, description="Files, folders or http(s):// URLs.")
    collection: str = Field(min_length=1)
    mapping: str | None = None
    chunk_size: int | None = Field(default=None, ge=1)
    chunk_overlap: int | None = Field(default=None, ge=0)
    chunk_unit: str | None = None
    embedding_model: str | None = None
    max_depth: int = Field(default=2, ge=0)
    max_pages: int = Field(default=100, ge=1)
    delay: float = Field(default=1.0, ge=0)
    batch_size: int = Field(default=32, ge=1)


class MergeInput(_Input):
    adapters: list[str] = Field(min_length=2)
    name: str = Field(min_length=1)
    weights: list[float] | None = None
    method: str = "linear"
    density: float | None = Field(default=None, gt=0, le=1)


class ExportInput(_Input):
    adapter: str = Field(min_length=1)
    out: str | None = Field(default=None, min_length=1, description="Default: <home>/exports/ADAPTER.")
    merged: bool = False


class ScheduledEvalInput(_Input):
    schedule: str = Field(min_length=1, description="The schedule to evaluate now (tunelab schedules list).")


class QuickstartInput(_Input):
    model: str | None = None
    adapter: str = "ecommerce-quickstart"
    retrain: bool = False
    max_steps: int = Field(default=40, ge=0)
    limit: int = Field(default=50, ge=0)


def _typed(model: type[BaseModel], kind: str, config: dict) -> dict:
    try:
        return model.model_validate(config).model_dump(mode="json")
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        raise JobConfigError(f"{kind} job: {where}: {msg}", field=where) from None


def _train(config: dict, settings: Settings) -> dict:
    if set(config) == {"resume"}:
        if not isinstance(config["resume"], str) or not config["resume"]:
            raise JobConfigError("train job: resume: a run id", field="resume")
        return {"resume": config["resume"]}
    if "recipe" not in config or not set(config) <= {"recipe", "eval_after"} or not isinstance(config["recipe"], dict):
        raise JobConfigError("train job: give {\"recipe\": {...recipe fields...}, \"eval_after\"?: {...}} or "
                             "{\"resume\": RUN_ID}", field="recipe")
    try:
        cfg = parse_config(config["recipe"], "recipe")
    except ValueError as exc:  # ConfigError: "recipe: field: why" per line
        first = str(exc).splitlines()[0]
        raise JobConfigError(str(exc), field=first.split(": ")[1] if first.count(": ") >= 2 else "recipe") from None
    clean = {"recipe": cfg.model_dump(mode="json")}
    if "eval_after" in config:
        clean["eval_after"] = _eval_after(config["eval_after"], cfg)
    return clean


DEFAULT_GATES = {"preference": ["preference_accuracy >= baseline"]}
JUDGE_METRICS = ["judge", "judge_invalid"]


def _eval_after(spec: Any, recipe) -> dict:
    """A train job's follow-up evaluation, normalised (`jobs.eval_after` says what it does)."""
    if not isinstance(spec, dict):
        raise JobConfigError("train job: eval_after: an object of eval config fields (task, gate, data, limit...)",
                             field="eval_after")
    spec = dict(spec)
    if "models" in spec:
        raise JobConfigError("train job: eval_after.models: set by the job (the parent, then the new adapter); "
                             "name the parent with eval_after.baseline", field="eval_after.models")
    if recipe.recipe == "classifier":
        raise JobConfigError("train job: eval_after: a classifier recipe trains an encoder, which the eval tasks "
                             "do not run; evaluate it with tunelab eval after training", field="eval_after")
    baseline = spec.pop("baseline", None)
    if baseline is not None and (not isinstance(baseline, str) or not baseline.strip()):
        raise JobConfigError("train job: eval_after.baseline: a model or adapter name", field="eval_after.baseline")
    if spec.get("task") is None:
        if recipe.recipe != "dpo":
            raise JobConfigError("train job: eval_after.task: which evaluation to run (classify, extract, qa, "
                                 "preference)", field="eval_after.task")
        spec["task"] = "preference"
    if spec["task"] == "retrieval":
        raise JobConfigError("train job: eval_after.task: retrieval compares search modes, not adapters",
                             field="eval_after.task")
    if "gate" not in spec:
        spec["gate"] = DEFAULT_GATES.get(spec["task"], [])
    if spec["task"] == "preference" and spec.get("data") is None and (
            recipe.recipe != "dpo" or not (recipe.eval_dataset or recipe.val_fraction > 0)):
        raise JobConfigError("train job: eval_after.data: no held-out preference pairs to evaluate on; give "
                             "eval_after.data, or a DPO recipe with eval_dataset or val_fraction > 0",
                             field="eval_after.data")
    models = [baseline or parent_of(recipe), recipe.adapter_name or "the-new-adapter"]
    try:
        cfg = eval_config_from({**spec, "models": models}, "eval_after")
    except ValueError as exc:  # EvalConfigError: "eval_after: field: why" per line
        first = str(exc).splitlines()[0]
        where = first.split(": ")[1] if first.count(": ") >= 2 else "(top level)"
        raise JobConfigError(f"train job: {exc}", field="eval_after" if where == "(top level)" else
                             f"eval_after.{where}") from None
    try:
        gates = [parse_gate(g) for g in cfg.gate]
        check_metrics_known(gates, get_task(cfg.task).metric_names(cfg) + (JUDGE_METRICS if cfg.judge else []))
    except GateError as exc:
        raise JobConfigError(f"train job: eval_after.gate: {exc}", field="eval_after.gate") from None
    return {**cfg.model_dump(mode="json", exclude={"models"}), "baseline": baseline}


def _eval(config: dict, settings: Settings) -> dict:
    if set(config) != {"eval"} or not isinstance(config["eval"], dict):
        raise JobConfigError("eval job: give {\"eval\": {...eval config fields...}}", field="eval")
    try:
        cfg = eval_config_from(config["eval"], "eval")
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise JobConfigError(str(exc), field=first.split(": ")[1] if first.count(": ") >= 2 else "eval") from None
    return {"eval": cfg.model_dump(mode="json")}


def _export(config: dict, settings: Settings) -> dict:
    out = _typed(ExportInput, "export", config)
    if out["out"] is None:  # a client that does not know the server's folders still gets a place
        suffix = "-merged" if out["merged"] else ""
        out["out"] = str(settings.home / "exports" / (out["adapter"] + suffix))
    return out


VALIDATORS = {
    "train": _train,
    "eval": _eval,
    "ingest": lambda c, s: _typed(IngestInput, "ingest", c),
    "merge": lambda c, s: _typed(MergeInput, "merge", c),
    "export": _export,
    "quickstart": lambda c, s: _typed(QuickstartInput, "quickstart", c),
    "generate_data": lambda c, s: _typed(GenerateConfig, "generate_data", c),
    "scheduled_eval": lambda c, s: _typed(ScheduledEvalInput, "scheduled_eval", c),
}
KINDS = tuple(VALIDATORS)


def validate(kind: str, config: Any, settings: Settings) -> dict:
    if kind not in VALIDATORS:
        raise JobConfigError(f"Unknown job kind '{kind}'. Kinds: {', '.join(KINDS)}.", field="kind")
    if not isinstance(config, dict):
        raise JobConfigError(f"{kind} job: the config must be a JSON object.", field="config")
    return VALIDATORS[kind](config, settings)
