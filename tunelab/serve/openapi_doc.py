"""The OpenAPI schema says what the server answers: every error is OpenAI's error object (400 for
a bad request, validation errors included, never FastAPI's 422; 401, 403, 404, 409, 413 and 429 with
Retry-After), /metrics is Prometheus text, and the generation routes stream server-sent events when
`stream` is true. `install_openapi(app)` wraps FastAPI's generator (the schema is built once)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")  # our own tunelab_* fields (a dataset error's file and line)
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    error: ErrorDetail = Field(description="OpenAI's error object.")


ERRORS = {
    "400": "Bad input: the message and `param` say what and where.",
    "401": "No API key, or an unknown or revoked one.",
    "403": "The key lacks the scope the route needs, a cross-site or CSRF-less request, or a path outside "
           "the allowed folders.",
    "404": "No such model, job, dataset, run, adapter, collection or feedback record.",
    "409": "The request conflicts with the current state (a job that cannot be moved, a name taken).",
    "413": "The request body is larger than TUNELAB_MAX_REQUEST_BYTES.",
    "429": "A rate limit (the key's requests or tokens a minute) or a full generation queue.",
}
STREAMING = {"/v1/chat/completions", "/v1/completions"}
TEXT = {"/metrics": "text/plain"}


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (ErrorDetail, ErrorResponse):
            comps[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
        for path, ops in schema.get("paths", {}).items():
            for op in ops.values():
                responses = op.setdefault("responses", {})
                responses.pop("422", None)  # our validation errors are 400s in OpenAI's shape
                for code, what in ERRORS.items():
                    responses.setdefault(code, {"description": what, "content": error})
                responses["429"]["headers"] = {"Retry-After": {
                    "description": "Seconds until a retry can succeed: from the key's bucket or the engine's "
                                   "drain rate.", "schema": {"type": "integer", "minimum": 1}}}
                ok = responses.get("200")
                if ok is None:
                    continue
                if path in TEXT:
                    ok["content"] = {TEXT[path]: {"schema": {"type": "string"}}}
                if path in STREAMING:
                    ok.setdefault("content", {})["text/event-stream"] = {"schema": {"type": "string"}}
        for unused in ("HTTPValidationError", "ValidationError"):
            comps.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
