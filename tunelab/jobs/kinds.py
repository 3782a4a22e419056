"""The kinds of job and their input. `validate(kind, config, settings)` checks a job's input when it
is submitted, with the same messages the CLI gives for the same mistake, and returns it normalized
(what the job will run with, as plain JSON); a bad input raises `JobConfigError` and is never queued.

Inputs: train {"recipe": {...recipe fields...}} (or {"resume": RUN_ID}); eval {"eval": {...eval
config fields...}}; ingest {"sources": [...], "collection": NAME, ...}; merge {"adapters": [...],
"name": NAME, "weights"?, "method"?, "density"?}; export {"adapter": NAME, "out": PATH, "merged"?};
quickstart {"model"?, "adapter"?, "retrain"?, "max_steps"?, "limit"?}; generate_data {"sources": [...],
"kind", "n", "name", "model"?, ...the other `GenerateConfig` fields}.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tunelab.datagen.config import GenerateConfig
from tunelab.eval.config import eval_config_from
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
    out: str = Field(min_length=1)
    merged: bool = False


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
    if set(config) != {"recipe"} or not isinstance(config["recipe"], dict):
        raise JobConfigError("train job: give {\"recipe\": {...recipe fields...}} or {\"resume\": RUN_ID}",
                             field="recipe")
    try:
        cfg = parse_config(config["recipe"], "recipe")
    except ValueError as exc:  # ConfigError: "recipe: field: why" per line
        first = str(exc).splitlines()[0]
        raise JobConfigError(str(exc), field=first.split(": ")[1] if first.count(": ") >= 2 else "recipe") from None
    return {"recipe": cfg.model_dump(mode="json")}


def _eval(config: dict, settings: Settings) -> dict:
    if set(config) != {"eval"} or not isinstance(config["eval"], dict):
        raise JobConfigError("eval job: give {\"eval\": {...eval config fields...}}", field="eval")
    try:
        cfg = eval_config_from(config["eval"], "eval")
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise JobConfigError(str(exc), field=first.split(": ")[1] if first.count(": ") >= 2 else "eval") from None
    return {"eval": cfg.model_dump(mode="json")}


VALIDATORS = {
    "train": _train,
    "eval": _eval,
    "ingest": lambda c, s: _typed(IngestInput, "ingest", c),
    "merge": lambda c, s: _typed(MergeInput, "merge", c),
    "export": lambda c, s: _typed(ExportInput, "export", c),
    "quickstart": lambda c, s: _typed(QuickstartInput, "quickstart", c),
    "generate_data": lambda c, s: _typed(GenerateConfig, "generate_data", c),
}
KINDS = tuple(VALIDATORS)


def validate(kind: str, config: Any, settings: Settings) -> dict:
    if kind not in VALIDATORS:
        raise JobConfigError(f"Unknown job kind '{kind}'. Kinds: {', '.join(KINDS)}.", field="kind")
    if not isinstance(config, dict):
        raise JobConfigError(f"{kind} job: the config must be a JSON object.", field="config")
    return VALIDATORS[kind](config, settings)
