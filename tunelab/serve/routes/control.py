"""The read side a dashboard needs, and dataset uploads: GET/POST /v1/datasets, GET /v1/runs and
/v1/runs/{id} (with metric series), GET /v1/adapters/{name} (with lineage; the list and load/unload
are in adapters.py), GET /v1/evals, /v1/evals/compare?ids=a,b and /v1/evals/{id}, GET /v1/collections.
Each calls `app.state.control` in a worker thread (the store never blocks the loop)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from tunelab.serve.control_protocol import (
    Adapter,
    CollectionList,
    Dataset,
    DatasetList,
    EvalComparison,
    EvalRun,
    EvalRunList,
    Run,
    RunList,
)
from tunelab.serve.control_service import ControlService
from tunelab.serve.errors import APIError
from tunelab.serve.routes.jobs import call

router = APIRouter(tags=["control"])


def _control(request: Request) -> ControlService:
    return request.app.state.control


@router.get("/v1/datasets", response_model=DatasetList)
async def list_datasets(request: Request) -> DatasetList:
    return await call(_control(request).list_datasets)


@router.post("/v1/datasets", response_model=Dataset, status_code=201)
async def upload_dataset(request: Request,
                         file: Annotated[UploadFile, File(description="A .jsonl/.json/.csv/.tsv/.parquet file.")],
                         name: Annotated[str, Form(description="The name to register it under.")],
                         format: Annotated[str | None, Form(description="Default: detected from the first record.")] = None,
                         ) -> Dataset:
    """Validate the file as `tunelab data validate` does (a 400 names its line and field) and register it."""
    try:
        return await call(_control(request).add_dataset, name, file.filename or "", file.file, format or None)
    finally:
        await file.close()


@router.get("/v1/runs", response_model=RunList)
async def list_runs(request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> RunList:
    return await call(_control(request).list_runs, limit)


@router.get("/v1/runs/{run_id}", response_model=Run)
async def get_run(run_id: str, request: Request) -> Run:
    return await call(_control(request).get_run, run_id)


@router.get("/v1/adapters/{name}", response_model=Adapter)
async def get_adapter(name: str, request: Request) -> Adapter:
    return await call(_control(request).get_adapter, name)


@router.get("/v1/evals", response_model=EvalRunList)
async def list_evals(request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                     task: str | None = None) -> EvalRunList:
    return await call(_control(request).list_evals, limit, task)


@router.get("/v1/evals/compare", response_model=EvalComparison)
async def compare_evals(request: Request,
                        ids: Annotated[str, Query(description="Eval run ids, comma-separated; the first "
                                                              "run's first model is the baseline.")]) -> EvalComparison:
    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    if not wanted:
        raise APIError("Name at least one eval run: ?ids=RUN_A,RUN_B (GET /v1/evals lists them).", param="ids")
    return await call(_control(request).compare_evals, wanted)


@router.get("/v1/evals/{run_id}", response_model=EvalRun)
async def get_eval(run_id: str, request: Request) -> EvalRun:
    return await call(_control(request).get_eval, run_id)


@router.get("/v1/collections", response_model=CollectionList)
async def list_collections(request: Request) -> CollectionList:
    return await call(_control(request).list_collections)
