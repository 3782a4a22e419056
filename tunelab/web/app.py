"""`add_dashboard(app)`: the dashboard's pages, login and static files on the API app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tunelab.web import login, pages
from tunelab.web.errors import install_page_errors

STATIC = Path(__file__).parent / "static"


def add_dashboard(app: FastAPI) -> FastAPI:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(login.router)
    app.include_router(pages.router)
    install_page_errors(app)
    return app
