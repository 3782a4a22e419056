"""The dashboard's pages: each is a shell whose script fills it from the HTTP API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tunelab.web.render import login_required, page, to_login

router = APIRouter(include_in_schema=False)

# path -> (template, title)
PAGES = {
    "/": ("home.html", "Home"),
    "/datasets": ("datasets.html", "Datasets"),
    "/train": ("train.html", "Train"),
    "/jobs": ("jobs.html", "Jobs"),
    "/adapters": ("adapters.html", "Adapters"),
    "/evals": ("evals.html", "Evals"),
    "/chat": ("chat.html", "Chat"),
    "/collections": ("collections.html", "Collections"),
    "/settings": ("settings.html", "Settings"),
}


def _route(path: str, template: str, title: str):
    async def show(request: Request) -> Response:
        if await login_required(request):
            return to_login(request)
        return page(request, template, title)

    show.__name__ = "page_" + (path.strip("/") or "home")
    return show


for _path, (_template, _title) in PAGES.items():
    router.add_api_route(_path, _route(_path, _template, _title), methods=["GET"])


@router.get("/jobs/{job_id}")
async def job_page(job_id: str, request: Request) -> Response:
    if await login_required(request):
        return to_login(request)
    return page(request, "job.html", f"Job {job_id}", job_id=job_id)
