"""The job queue as the CLI and the control API see it: submit (validated first: a bad input is never
queued), list, show, cancel, retry, move, read the log and the event stream. A caller is local (the
CLI: every job) or an API key, which sees and acts on its own jobs only unless it is an admin key.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tunelab.jobs.kinds import validate
from tunelab.settings import Settings
from tunelab.store import JOBS, Job, Store, UnknownNameError


class UnknownJobError(UnknownNameError):
    kind = "job"
    template = "No {kind} '{name}' (tunelab jobs list shows them)."

    def __init__(self, name: str) -> None:
        super().__init__(name, ())


class JobStateError(ValueError):
    """The job is not in a state that allows this (retry a running job, move a finished one)."""


@dataclass(frozen=True)
class Caller:
    """Who asks: `owner` is the API key's name (None: the local CLI); an admin sees every job."""

    owner: str | None = None
    admin: bool = True

    def sees(self, job: Job) -> bool:
        return self.admin or job.owner == self.owner


LOCAL = Caller()


@dataclass
class JobInfo:
    id: str
    kind: str
    status: str
    config: dict
    priority: int
    position: int | None  # place in the queue (1 = next) while queued
    owner: str | None
    attempts: int
    worker: str | None
    heartbeat_at: datetime | None
    cancel_requested: bool
    result: dict
    error_type: str | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("heartbeat_at", "created_at", "started_at", "finished_at"):
            d[k] = d[k].isoformat() if d[k] is not None else None
        return d


def new_job_id() -> str:
    return "job-" + uuid.uuid4().hex[:12]


def log_path(settings: Settings, job_id: str) -> Path:
    return settings.home / "jobs" / f"{job_id}.log"


class JobService:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings

    def submit(self, kind: str, config: Any, *, caller: Caller = LOCAL, priority: int = 0) -> JobInfo:
        """Validate and queue; JobConfigError (naming the field) for a bad input, nothing queued."""
        clean = validate(kind, config, self.settings)
        return self._info(JOBS.submit(self.store, new_job_id(), kind, clean, owner=caller.owner, priority=priority))

    def get(self, job_id: str, *, caller: Caller = LOCAL) -> JobInfo:
        return self._info(self._job(job_id, caller))

    def list(self, *, caller: Caller = LOCAL, status: str | None = None, kind: str | None = None,
             limit: int = 50, offset: int = 0) -> tuple[list[JobInfo], int]:
        owner = None if caller.admin else caller.owner
        rows, total = JOBS.page(self.store, status=status, kind=kind, owner=owner, limit=limit, offset=offset)
        places = self._places()
        return [self._info(r, places) for r in rows], total

    def cancel(self, job_id: str, *, caller: Caller = LOCAL) -> JobInfo:
        self._job(job_id, caller)
        return self._info(JOBS.request_cancel(self.store, job_id))

    def retry(self, job_id: str, *, caller: Caller = LOCAL) -> JobInfo:
        job = self._job(job_id, caller)
        if job.status not in ("failed", "cancelled"):
            raise JobStateError(f"Job {job_id} is {job.status}; only a failed or cancelled job can be retried.")
        return self._info(JOBS.requeue(self.store, job_id))

    def move(self, job_id: str, to: int, *, caller: Caller = LOCAL) -> JobInfo:
        job = self._job(job_id, caller)
        if job.status != "queued":
            raise JobStateError(f"Job {job_id} is {job.status}; only a queued job can be moved.")
        if to < 1:
            raise JobStateError("A queue position starts at 1 (next to run).")
        return self._info(JOBS.move(self.store, job_id, to))

    def read_log(self, job_id: str, offset: int = 0, *, caller: Caller = LOCAL,
                 limit: int = 1 << 20) -> tuple[str, int]:
        """The log from byte `offset` (at most `limit` bytes, cut after a whole line), and the offset
        to ask for next."""
        self._job(job_id, caller)
        path = log_path(self.settings, job_id)
        if not path.exists():
            return "", offset
        with path.open("rb") as f:
            f.seek(offset)
            data = f.read(limit)
        if len(data) == limit and b"\n" in data:
            data = data[:data.rindex(b"\n") + 1]
        return data.decode("utf-8", "replace"), offset + len(data)

    def events(self, job_id: str, after: int = 0, *, caller: Caller = LOCAL, limit: int = 500) -> list[dict]:
        """Events with an id above `after`, oldest first: {"id", "kind", "data", "at"}."""
        self._job(job_id, caller)
        return [{"id": e.id, "kind": e.kind, "data": e.data, "at": e.created_at.isoformat()}
                for e in JOBS.events_after(self.store, job_id, after, limit=limit)]

    # -- inside --------------------------------------------------------------------------------------

    def _job(self, job_id: str, caller: Caller) -> Job:
        job = JOBS.by_key(self.store, job_id)
        if job is None or not caller.sees(job):
            raise UnknownJobError(job_id)
        return job

    def _places(self) -> dict[str, int]:
        return {j.id: i for i, j in enumerate(JOBS.queue(self.store), start=1)}

    def _info(self, job: Job, places: dict[str, int] | None = None) -> JobInfo:
        if places is None:
            places = self._places() if job.status == "queued" else {}
        return JobInfo(id=job.id, kind=job.kind, status=job.status, config=job.config, priority=job.priority,
                       position=places.get(job.id), owner=job.owner, attempts=job.attempts, worker=job.worker,
                       heartbeat_at=job.heartbeat_at, cancel_requested=job.cancel_requested,
                       result=dict(job.result or {}), error_type=job.error_type, error=job.error,
                       created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at)
