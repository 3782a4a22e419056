"""Response models of the dataset pages' routes: a page of a dataset's records, its statistics with
token lengths as a histogram, and the formats an upload may name. Field names follow
`tunelab.data.stats` (lengths: min, mean, p50, p95, max)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class DatasetRecords(BaseModel):
    object: Literal["list"] = "list"
    dataset: str
    data: list[dict[str, Any]] = Field(description="Records in TuneLab's own format for their kind "
                                                   "(messages; prompt/chosen/rejected; text/label; text).")
    offset: int
    limit: int
    total: int = Field(description="Records in the dataset.")


class LengthSummary(BaseModel):
    min: int
    mean: float
    p50: float
    p95: float
    max: int


class LengthHistogram(BaseModel):
    edges: list[int] = Field(description="Bin edges: bin i holds edges[i] <= length < edges[i+1].")
    counts: list[int]


class DatasetStatistics(BaseModel):
    object: Literal["dataset_stats"] = "dataset_stats"
    dataset: str
    content_hash: str
    count: int
    kinds: dict[str, int] = Field(description="Records per kind: chat, preference, classification, text.")
    labels: dict[str, int] = Field(description="Records per label (classification).")
    source_format: str | None = Field(description="The uploaded file's format.")
    skipped: int = Field(description="Invalid records left out when it was added.")
    length_unit: Literal["tokens"] = "tokens"
    tokenizer: str = Field(description="Whose tokens: the served base model unless ?model= named another.")
    lengths: LengthSummary | None
    histogram: LengthHistogram
    max_seq_len: int | None = Field(description="The ?max_seq_len= asked about, if any.")
    over_max_seq_len: int | None = Field(description="Records longer than max_seq_len (training truncates them).")


class DatasetFormat(BaseModel):
    name: str
    kind: str = Field(description="The record kind it becomes: chat, preference, classification or text.")


class DatasetFormats(BaseModel):
    object: Literal["list"] = "list"
    data: list[DatasetFormat]
    suffixes: list[str] = Field(description="File types an upload may have.")
