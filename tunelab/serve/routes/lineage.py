"""GET /v1/lineage: the registry as a graph, every adapter and the base models they stand on as
nodes and "made from" as edges (base -> SFT -> DPO -> merges), read from the store in a worker thread."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request

from tunelab.adapters.graph import lineage_graph
from tunelab.serve.lineage_protocol import Lineage, LineageEdge, LineageNode
from tunelab.serve.routes.jobs import call

router = APIRouter(tags=["adapters"])


def _lineage(registry) -> Lineage:
    graph = lineage_graph(registry.list())
    return Lineage(nodes=[LineageNode(**asdict(n)) for n in graph.nodes],
                   edges=[LineageEdge(**asdict(e)) for e in graph.edges])


@router.get("/v1/lineage", response_model=Lineage)
async def get_lineage(request: Request) -> Lineage:
    return await call(_lineage, request.app.state.control.adapters)
