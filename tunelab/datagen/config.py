"""What one generation run is asked to do (`GenerateConfig`), validated when built: the same fields
are the CLI's options and a `generate_data` job's input."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tunelab.models.catalogue import NAME_RE

KINDS = ("instruction", "preference", "qa")
REJECTED = ("no_context", "temperature", "base")


class GenerateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(min_length=1, description="Files, folders, a collection (NAME or collection:NAME), "
                                                         "or 'catalogue' (the packaged e-commerce products, train split).")
    kind: Literal["instruction", "preference", "qa"] = Field(
        description="instruction: an instruction and its answer; preference: a grounded answer (chosen) and a "
                    "weaker one (rejected); qa: a question answered from the chunk, in the [QA] format `tunelab ask` uses.")
    n: int = Field(ge=1, le=1_000_000, description="Records to make.")
    name: str = Field(description="The dataset to register (a rerun with the same name continues the run).")
    model: str | None = Field(None, description="The generator: a catalogue model, an adapter or upstream/model "
                                                "(default: the default model).")
    rejected: Literal["no_context", "temperature", "base"] = Field(
        "no_context", description="preference: how the rejected answer is made: no_context (the question without "
                                  "the chunk), temperature (sampled hot), base (the adapter's base model).")
    temperature: float = Field(0.8, ge=0.0, le=2.0, description="Sampling temperature of the questions (the "
                                                                 "answers are greedy).")
    rejected_temperature: float = Field(1.5, gt=0.0, le=2.0, description="rejected=temperature: its temperature.")
    max_tokens: int = Field(256, ge=8, le=8192, description="Most tokens of one answer.")
    question_tokens: int = Field(128, ge=8, le=1024, description="Most tokens of one question.")
    chunk_size: int = Field(1200, ge=100, description="Largest chunk, in characters, one record is written from.")
    seed: int = Field(0, description="Seed of the sampled questions (record i uses seed + i).")
    concurrency: int = Field(8, ge=1, le=256, description="Records generated at once.")
    mapping: str | None = Field(None, description="Catalogue field mapping, as for ingest (id=sku,title=name,...).")
    restart: bool = Field(False, description="Drop what an earlier stopped run made and start over.")

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not NAME_RE.match(name):
            raise ValueError(f"'{name}' must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.")
        return name

    @model_validator(mode="after")
    def _check(self) -> GenerateConfig:
        if self.rejected != "no_context" and self.kind != "preference":
            raise ValueError(f"rejected={self.rejected} applies to kind preference only (kind is {self.kind}).")
        return self

    def fingerprint(self) -> dict:
        """What a continued run must share with the run it continues (n, concurrency and restart may change)."""
        return self.model_dump(mode="json", exclude={"n", "concurrency", "restart"})
