"""GET/POST /login and POST /logout: a browser trades an API key for a session cookie
(HttpOnly, SameSite=Strict, with an expiry), so the key itself never lives in the page."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated
from urllib.parse import urlsplit

import anyio
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tunelab.serve.sessions import COOKIE
from tunelab.web.render import page

router = APIRouter(include_in_schema=False)


def _local_target(target: str) -> str:
    """Only a path on this server: `next=https://elsewhere` must not turn login into a redirector."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    return page(request, "login.html", "Sign in", next=_local_target(next), error=None, bare=True)


@router.post("/login")
async def login(request: Request, key: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    keys = request.app.state.keys
    info = await anyio.to_thread.run_sync(keys.login, key.strip()) if key.strip() else None
    if info is None or info.created_at is None:
        resp = page(request, "login.html", "Sign in", next=_local_target(next),
                    error="That key is unknown or revoked. `tunelab keys list` shows the keys.", bare=True)
        resp.status_code = 401
        return resp
    created = info.created_at if info.created_at.tzinfo else info.created_at.replace(tzinfo=UTC)
    value, session = request.app.state.sessions.issue(info.name, created.timestamp())
    resp = RedirectResponse(_local_target(next), status_code=303)
    resp.set_cookie(COOKIE, value, max_age=int(request.app.state.sessions.ttl_s), httponly=True,
                    samesite="strict", secure=request.url.scheme == "https", path="/")
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp
