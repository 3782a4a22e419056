"""The job queue over HTTP: POST /v1/jobs (submit, validated first), GET /v1/jobs (filter, page),
GET /v1/jobs/{id}, POST .../cancel | retry | move, GET .../log?offset=N, and GET .../events, a
server-sent event stream (`id:`, `event: log|metric|status`, `data: {json}`) that resumes after the
`Last-Event-ID` header (or ?after=) and ends once the job's final status has been sent.

Every call into the service (the store) runs in a worker thread: a SQLite lock never blocks the loop.
A key sees its own jobs only (others are 404) unless it is an admin key.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request

from tunelab.jobs.service import LOCAL, Caller, JobInfo, JobService
from tunelab.serve.allowed_paths import JOB_PATHS, check_paths
from tunelab.serve.control_protocol import MAX_INT, Job, JobList, JobLog, JobMoveRequest, JobStatus, JobSubmitRequest
from tunelab.serve.errors import from_exception
from tunelab.serve.sse import EventStreamResponse
from tunelab.store.jobs_repo import DONE

router = APIRouter(tags=["jobs"])

POLL_S = 0.5  # how often the event stream looks for new events
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream


def caller(request: Request) -> Caller:
    return getattr(request.state, "caller", LOCAL)


async def call(fn, *args, **kw):
    """`fn(*args, **kw)` in a worker thread; a library error becomes its HTTP error."""
    try:
        return await anyio.to_thread.run_sync(partial(fn, *args, **kw))
    except Exception as exc:  # noqa: BLE001
        raise from_exception(exc) from exc


def _jobs(request: Request) -> JobService:
    return request.app.state.jobs


def _job(info: JobInfo) -> Job:
    return Job(**asdict(info))


@router.post("/v1/jobs", response_model=Job, status_code=201)
async def submit_job(body: JobSubmitRequest, request: Request) -> Job:
    config = check_paths(body.config, JOB_PATHS.get(body.kind, {}), request.app.state.settings, "config")
    return _job(await call(_jobs(request).submit, body.kind, config, caller=caller(request),
                           priority=body.priority))


@router.get("/v1/jobs", response_model=JobList)
async def list_jobs(request: Request, status: JobStatus | None = None, kind: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50,
                    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0) -> JobList:
    infos, total = await call(_jobs(request).list, caller=caller(request), status=status, kind=kind,
                              limit=limit, offset=offset)
    return JobList(data=[_job(i) for i in infos], total=total)


@router.get("/v1/jobs/{job_id}", response_model=Job)
async def get_job(job_id: str, request: Request) -> Job:
    return _job(await call(_jobs(request).get, job_id, caller=caller(request)))


@router.post("/v1/jobs/{job_id}/cancel", response_model=Job)
async def cancel_job(job_id: str, request: Request) -> Job:
    return _job(await call(_jobs(request).cancel, job_id, caller=caller(request)))


@router.post("/v1/jobs/{job_id}/retry", response_model=Job)
async def retry_job(job_id: str, request: Request) -> Job:
    return _job(await call(_jobs(request).retry, job_id, caller=caller(request)))


@router.post("/v1/jobs/{job_id}/move", response_model=Job)
async def move_job(job_id: str, body: JobMoveRequest, request: Request) -> Job:
    return _job(await call(_jobs(request).move, job_id, body.to, caller=caller(request)))


@router.get("/v1/jobs/{job_id}/log", response_model=JobLog)
async def job_log(job_id: str, request: Request, offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0) -> JobLog:
    text, next_offset = await call(_jobs(request).read_log, job_id, offset, caller=caller(request))
    return JobLog(text=text, next_offset=next_offset)


@router.get("/v1/jobs/{job_id}/events", response_class=EventStreamResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "id: <event id>, event: log|metric|status, data: {json}"}})
async def job_events(job_id: str, request: Request, after: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
                     last_event_id: Annotated[str | None, Header()] = None) -> EventStreamResponse:
    jobs, who = _jobs(request), caller(request)
    if last_event_id is not None and last_event_id.strip().isdigit():
        after = int(last_event_id.strip())
    await call(jobs.get, job_id, caller=who)  # 404 before the stream starts
    return EventStreamResponse(_stream(jobs, job_id, who, after))


def _event(e: dict) -> str:
    return f"id: {e['id']}\nevent: {e['kind']}\ndata: {json.dumps(e['data'], ensure_ascii=False)}\n\n"


async def _stream(jobs: JobService, job_id: str, who: Caller, after: int) -> AsyncIterator[str]:
    """The job's events after `after`, then new ones as they come, until its final status event."""
    quiet = 0.0
    while True:
        events = await anyio.to_thread.run_sync(partial(jobs.events, job_id, after, caller=who))
        for e in events:
            yield _event(e)
            after = e["id"]
            if e["kind"] == "status" and e["data"].get("status") in DONE:
                # Final, unless the job was retried since: then its later events follow.
                info = await anyio.to_thread.run_sync(partial(jobs.get, job_id, caller=who))
                if info.status in DONE:
                    return
        if events:
            quiet = 0.0
            continue
        # Nothing new. A job that ended before `after` (a client resuming past its last event) ends here.
        info = await anyio.to_thread.run_sync(partial(jobs.get, job_id, caller=who))
        if info.status in DONE:
            late = await anyio.to_thread.run_sync(partial(jobs.events, job_id, after, caller=who))
            if not late:
                return
            continue
        await anyio.sleep(POLL_S)
        quiet += POLL_S
        if quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield ": keep-alive\n\n"
