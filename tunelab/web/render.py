"""Rendering a page: the Jinja2 environment and what every page gets (the nav, the caller, the
CSRF token of its session), and the rule that a page needs a login once an API key exists."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import anyio
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from tunelab import __version__

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# (path, label, icon): the nav, in the order of the loop
NAV = [
    ("/", "Home", "⌂"),
    ("/datasets", "Datasets", "▤"),
    ("/train", "Train", "▶"),
    ("/jobs", "Jobs", "☰"),
    ("/adapters", "Adapters", "⎇"),
    ("/evals", "Evals", "◧"),
    ("/chat", "Chat", "✎"),
    ("/collections", "Collections", "⌕"),
    ("/settings", "Settings", "⚙"),
]


async def login_required(request: Request) -> bool:
    keys = getattr(request.app.state, "keys", None)
    if keys is None or not await anyio.to_thread.run_sync(keys.required):
        return False
    return getattr(request.state, "session", None) is None


def page(request: Request, template: str, title: str, **context) -> Response:
    """The page, or a redirect to the login page once keys exist and this browser has no session."""
    session = getattr(request.state, "session", None)
    codec = getattr(request.app.state, "sessions", None)
    csrf = codec.csrf_token(session) if session is not None and codec is not None else ""
    caller = request.state.caller
    return templates.TemplateResponse(request, template, {
        "title": title, "nav": NAV, "path": request.url.path, "csrf": csrf, "version": __version__,
        "caller": caller.owner or "local", "admin": caller.admin, "logged_in": session is not None, **context})


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (("?" + request.url.query) if request.url.query else "")
    return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
