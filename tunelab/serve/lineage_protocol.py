"""The response of GET /v1/lineage: every registered adapter and the base models they stand on as
nodes, "made from" as edges (base -> SFT -> DPO -> merges). A client draws it; details of one
adapter are at GET /v1/adapters/{name}."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tunelab.serve.timestamps import UtcDateTime


class LineageNode(BaseModel):
    id: str = Field(description="An adapter's name or a base model's catalogue name.")
    type: Literal["base", "adapter", "missing"] = Field(
        description="missing: a parent named in a lineage that is no longer registered.")
    made_by: str | None = Field(description="Adapters: sft, dpo, classifier, merge or registered (added from a folder).")
    kind: str | None = Field(description="Adapters: lora, full, classifier or merged.")
    method: str | None = Field(description="sft: lora, qlora or full; merge: linear, ties, dare_linear, dare_ties, cat.")
    base_model: str | None
    run_id: str | None
    created_at: UtcDateTime | None


class LineageEdge(BaseModel):
    source: str = Field(description="The parent (a base model or an adapter).")
    target: str = Field(description="The adapter made from it.")
    relation: str = Field(description="How the target was made: sft, dpo, merge, classifier or registered.")
    weight: float | None = Field(description="A merge input's weight.")


class Lineage(BaseModel):
    object: Literal["lineage"] = "lineage"
    nodes: list[LineageNode]
    edges: list[LineageEdge]
