"""Feedback over HTTP, the loop from chat answers to a better adapter: POST /v1/feedback (201),
GET /v1/feedback (?model, adapter, limit, offset), GET /v1/feedback/export (JSON Lines; ?format=pairs
for the preference pairs), GET and DELETE /v1/feedback/{id}, POST /v1/feedback/build-dataset (a
registered preference dataset and the pair counts) and POST /v1/feedback/train-dpo (a queued train job
with its follow-up evaluation). A key sees its own feedback only (others are 404) unless it is an
admin key; every store call runs in a worker thread."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tunelab.serve.allowed_paths import NAME, RECIPE_PATHS, check_paths
from tunelab.serve.control_protocol import MAX_INT, Job
from tunelab.serve.feedback_protocol import (
    BuildDatasetRequest,
    BuildDatasetResponse,
    Feedback,
    FeedbackCreateRequest,
    FeedbackDeleted,
    FeedbackList,
    TrainDPORequest,
)
from tunelab.serve.feedback_service import FeedbackService
from tunelab.serve.routes.jobs import call, caller

router = APIRouter(tags=["feedback"])


def _feedback(request: Request) -> FeedbackService:
    return request.app.state.feedback


@router.post("/v1/feedback", response_model=Feedback, status_code=201)
async def create_feedback(body: FeedbackCreateRequest, request: Request) -> Feedback:
    return await call(_feedback(request).add, body, caller(request))


@router.get("/v1/feedback", response_model=FeedbackList)
async def list_feedback(request: Request, model: str | None = None, adapter: str | None = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 50,
                        offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0) -> FeedbackList:
    return await call(_feedback(request).list, caller(request), model=model, adapter=adapter, limit=limit,
                      offset=offset)


@router.get("/v1/feedback/export", response_class=Response,
            responses={200: {"content": {"application/x-ndjson": {}},
                             "description": "One JSON object per line: a feedback record, or a preference pair "
                                            "({prompt, chosen, rejected}) with ?format=pairs."}})
async def export_feedback(request: Request, model: str | None = None, adapter: str | None = None,
                          format: Literal["feedback", "pairs"] = "feedback") -> Response:
    text = await call(_feedback(request).export, caller(request), model=model, adapter=adapter, format=format)
    name = "feedback-pairs.jsonl" if format == "pairs" else "feedback.jsonl"
    return Response(text, media_type="application/x-ndjson",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/v1/feedback/build-dataset", response_model=BuildDatasetResponse, status_code=201)
async def build_dataset(body: BuildDatasetRequest, request: Request) -> BuildDatasetResponse:
    return await call(_feedback(request).build_dataset, body, caller(request))


@router.post("/v1/feedback/train-dpo", response_model=Job, status_code=201)
async def train_dpo(body: TrainDPORequest, request: Request) -> Job:
    fields = {**{f"recipe.{k}": v for k, v in RECIPE_PATHS.items()}, "eval_dataset": NAME}
    checked = check_paths({"recipe": body.recipe, "eval_dataset": body.eval_dataset}, fields,
                          request.app.state.settings)
    body = body.model_copy(update=checked)
    return Job(**asdict(await call(_feedback(request).train_dpo, body, caller(request))))


@router.get("/v1/feedback/{feedback_id}", response_model=Feedback)
async def get_feedback(feedback_id: str, request: Request) -> Feedback:
    return await call(_feedback(request).get, feedback_id, caller(request))


@router.delete("/v1/feedback/{feedback_id}", response_model=FeedbackDeleted)
async def delete_feedback(feedback_id: str, request: Request) -> FeedbackDeleted:
    return await call(_feedback(request).delete, feedback_id, caller(request))
