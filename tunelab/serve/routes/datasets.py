"""The dataset pages' reads beyond the list (GET/POST /v1/datasets are in control.py):
GET /v1/datasets/formats, GET /v1/datasets/{name}/records?offset&limit (a page of records) and
GET /v1/datasets/{name}/stats?bins&model&max_seq_len (counts and token lengths as a histogram)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from tunelab.serve.dataset_views import DatasetViews
from tunelab.serve.datasets_protocol import DatasetFormats, DatasetRecords, DatasetStatistics
from tunelab.serve.routes.jobs import call

router = APIRouter(tags=["control"])


def _views(request: Request) -> DatasetViews:
    return request.app.state.dataset_views


@router.get("/v1/datasets/formats", response_model=DatasetFormats)
async def dataset_formats(request: Request) -> DatasetFormats:
    return _views(request).formats()


@router.get("/v1/datasets/{name}/records", response_model=DatasetRecords)
async def dataset_records(name: str, request: Request, offset: Annotated[int, Query(ge=0, le=2**53 - 1)] = 0,
                          limit: Annotated[int, Query(ge=1, le=200)] = 20) -> DatasetRecords:
    return await call(_views(request).records, name, offset, limit)


@router.get("/v1/datasets/{name}/stats", response_model=DatasetStatistics)
async def dataset_stats(name: str, request: Request,
                        bins: Annotated[int, Query(ge=1, le=200, description="Histogram bins at most.")] = 20,
                        model: Annotated[str | None, Query(description="Count in this catalogue model's "
                                                                       "tokens (default: the served base).")] = None,
                        max_seq_len: Annotated[int | None, Query(ge=1, description="Also count the records "
                                                                              "longer than this.")] = None,
                        ) -> DatasetStatistics:
    return await call(_views(request).stats, name, bins=bins, model=model, max_seq_len=max_seq_len)
