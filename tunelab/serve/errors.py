"""HTTP errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.

Routes and services raise `APIError` (or let a library error through); the handlers installed by
`install_error_handlers` turn each into that body with the right status: request validation 400,
unknown model/adapter/job/run/dataset/feedback 404, a job in the wrong state 409, a bad job config,
dataset or feedback record 400 naming the field (`param`; a dataset's file, line, record and reason
also as `tunelab_file`, `tunelab_line`, `tunelab_record`, `tunelab_reason`), a full queue 429 with
Retry-After, anything unexpected 500.
"""

from __future__ import annotations

import json
import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from tunelab.adapters.errors import UnknownAdapterError
from tunelab.adapters.servable import AdapterNotServableError
from tunelab.data.errors import DatasetError
from tunelab.data.feedback import FeedbackError, UnknownFeedbackError
from tunelab.engine.types import QueueFullError
from tunelab.jobs.kinds import JobConfigError
from tunelab.jobs.service import JobStateError, UnknownJobError
from tunelab.models.errors import ModelError, UnknownModelError
from tunelab.store import UnknownNameError

log = logging.getLogger("tunelab.serve")


class APIError(Exception):
    """An error a client can act on, answered as an OpenAI error body."""

    status = 400
    type = "invalid_request_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None,
                 status: int | None = None, headers: dict[str, str] | None = None,
                 extra: dict | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.code = message, param, code
        self.extra = extra or {}  # our own fields of the error object, each prefixed tunelab_
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def body(self) -> dict:
        body = error_body(self.message, type=self.type, param=self.param, code=self.code)
        body["error"].update(self.extra)
        return body

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


class NotFoundError(APIError):
    status = 404
    type = "not_found_error"


class ConflictError(APIError):
    status = 409
    type = "invalid_request_error"


class AuthError(APIError):
    status = 401
    type = "invalid_request_error"


class ForbiddenError(APIError):
    status = 403
    type = "permission_error"


class RateLimitError(APIError):
    status = 429
    type = "rate_limit_error"


class ServerError(APIError):
    status = 500
    type = "server_error"


def error_body(message: str, *, type: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def error_response(status: int, message: str, **kw) -> JSONResponse:
    return JSONResponse(error_body(message, **kw), status_code=status)


def from_exception(exc: BaseException) -> APIError:
    """The APIError for a library or engine error (unknown adapter, full queue, bad input...)."""
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, QueueFullError):
        retry = max(1, math.ceil(exc.retry_after_s))  # from the engine's measured drain rate
        return RateLimitError(f"The server is busy: its generation queue is full. Retry after {retry} s.",
                              code="queue_full", headers={"Retry-After": str(retry)})
    if isinstance(exc, (UnknownAdapterError, UnknownModelError)):
        return NotFoundError(str(exc), param="model", code="model_not_found")
    if isinstance(exc, AdapterNotServableError):
        return APIError(str(exc), param="model")
    if isinstance(exc, UnknownJobError):
        return NotFoundError(str(exc), code="job_not_found")
    if isinstance(exc, UnknownFeedbackError):
        return NotFoundError(str(exc), code="feedback_not_found")
    if isinstance(exc, UnknownNameError):  # a run, dataset, collection... that is not there
        return NotFoundError(str(exc), code="not_found")
    if isinstance(exc, JobStateError):
        return ConflictError(str(exc), code="job_state")
    if isinstance(exc, JobConfigError):
        return APIError(str(exc), param=exc.field, code="invalid_job_config")
    if isinstance(exc, DatasetError):
        # Where, as data too: a page shows the line against the file the user picked.
        return APIError(str(exc), param=exc.field, code="invalid_dataset",
                        extra={"tunelab_file": exc.file, "tunelab_line": exc.line, "tunelab_record": exc.record,
                               "tunelab_reason": exc.reason})
    if isinstance(exc, FeedbackError):
        return APIError(str(exc), param=exc.field, code="invalid_feedback")
    if isinstance(exc, (ModelError, ValueError)):  # adapter that does not fit, unsupported constraint...
        return APIError(str(exc))
    log.exception("unexpected error while serving a request", exc_info=exc)
    return ServerError(f"Internal error: {type(exc).__name__}: {exc}")


def _validation_error(exc: RequestValidationError) -> APIError:
    errors = exc.errors()
    if not errors:
        return APIError("Invalid request.")
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    param = ".".join(loc) or None
    if first.get("type") == "json_invalid":
        return APIError("The request body is not valid JSON: " + str(first.get("msg", "")), code="invalid_json")
    msg = str(first.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    where = f"'{param}'" if param else "the request body"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    value = first.get("input")
    shown = ""
    if param and value is not None and first.get("type") != "missing":
        try:
            shown = f" (got {json.dumps(value)[:80]})"
        except (TypeError, ValueError):
            shown = ""
    return APIError(f"Invalid value for {where}: {msg}{shown}{more}.", param=param,
                    code="missing_required_parameter" if first.get("type") == "missing" else "invalid_value")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_error(exc).response()

    @app.exception_handler(APIError)
    async def _api(_request: Request, exc: APIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not_found_error", 405: "invalid_request_error"}.get(exc.status_code, "invalid_request_error")
        return JSONResponse(error_body(str(exc.detail), type=kind), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return from_exception(exc).response()
