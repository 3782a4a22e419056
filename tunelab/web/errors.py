"""Errors a person sees in the browser: a page that is not there, or a page that failed, is a
page in the dashboard's look with a sentence and a way back, never a traceback. API paths keep
the API's JSON errors (the handler defers to the one the server installed)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tunelab.web.render import page

log = logging.getLogger("tunelab.web")


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return (request.method == "GET" and not path.startswith(("/v1", "/static", "/health", "/metrics", "/docs"))
            and "text/html" in request.headers.get("accept", ""))


def install_page_errors(app: FastAPI) -> None:
    api_http = app.exception_handlers.get(StarletteHTTPException)
    api_any = app.exception_handlers.get(Exception)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if not _wants_page(request):
            return await api_http(request, exc)
        message = "There is no page here." if exc.status_code == 404 else str(exc.detail)
        resp = page(request, "error.html", "Not found" if exc.status_code == 404 else "Error", message=message)
        resp.status_code = exc.status_code
        return resp

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        if not _wants_page(request):
            return await api_any(request, exc)
        log.exception("a dashboard page failed", exc_info=exc)
        resp = page(request, "error.html", "Error", message=f"This page failed: {type(exc).__name__}. "
                    "The server's log has the details.")
        resp.status_code = 500
        return resp
