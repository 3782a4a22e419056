"""The lineage graph of the registry: base models and adapters as nodes, "made from" as edges
(base -> SFT -> DPO -> merges). `lineage_graph(adapters)` is a pure function of the registry's
entries; a parent that is no longer registered becomes a node of type "missing" so no edge dangles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from tunelab.adapters.registry import AdapterInfo

TRAINED = ("sft", "dpo", "classifier")  # recipes that record themselves in an adapter's lineage


@dataclass(frozen=True)
class GraphNode:
    id: str
    type: str  # "base" | "adapter" | "missing"
    made_by: str | None = None  # adapters: sft | dpo | classifier | merge | registered
    kind: str | None = None  # adapters: the registry kind (lora, full, classifier, merged)
    method: str | None = None  # sft: lora | qlora | full; merge: linear | ties | ...
    base_model: str | None = None
    run_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    relation: str  # the child's made_by: sft | dpo | merge | classifier | registered
    weight: float | None = None  # a merge input's weight


@dataclass
class LineageGraph:
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)


def made_by(info: AdapterInfo) -> str:
    """How an adapter came to be, from its lineage: the recipe that trained it, a merge, or
    "registered" (added from a folder, nothing recorded)."""
    recipe = info.lineage.get("recipe")
    if recipe in TRAINED:
        return recipe
    if info.lineage.get("method") and info.parents:
        return "merge"
    return "registered"


def _method(info: AdapterInfo, how: str) -> str | None:
    if how == "merge":
        return info.lineage.get("method")
    config = info.lineage.get("config")
    return config.get("method") if isinstance(config, dict) and how == "sft" else None


def lineage_graph(adapters: Iterable[AdapterInfo]) -> LineageGraph:
    """Nodes in a stable order (base models by name, then adapters oldest first, then missing
    parents); an edge from each parent to its child, or from the base model to an adapter that
    has no parents. Merge edges carry the parent's weight."""
    infos = sorted(adapters, key=lambda a: (a.created_at or datetime.min, a.name))
    known = {a.name for a in infos}
    graph = LineageGraph()
    graph.nodes += [GraphNode(id=b, type="base") for b in sorted({a.base_model for a in infos})]
    missing: list[str] = []
    for a in infos:
        how = made_by(a)
        graph.nodes.append(GraphNode(id=a.name, type="adapter", made_by=how, kind=a.kind, method=_method(a, how),
                                     base_model=a.base_model, run_id=a.run_id, created_at=a.created_at))
        parents = [p for p in a.parents if isinstance(p, str) and p]
        weights = a.lineage.get("weights") if how == "merge" else None
        if not parents:
            graph.edges.append(GraphEdge(source=a.base_model, target=a.name, relation=how))
        for i, p in enumerate(parents):
            if p not in known and p not in missing:
                missing.append(p)
            w = weights[i] if isinstance(weights, list) and i < len(weights) else None
            graph.edges.append(GraphEdge(source=p, target=a.name, relation=how,
                                         weight=float(w) if isinstance(w, (int, float)) else None))
    graph.nodes += [GraphNode(id=p, type="missing") for p in missing]
    return graph
