"""Jobs and their event streams (`jobs`, `job_events`). A worker takes a job with `claim`, one
transaction that locks before it reads (SQLite: BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE SKIP LOCKED),
so two workers never start the same job; a job whose worker stopped heartbeating is taken over.
Callers pass the Store and plain values and get detached rows back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from tunelab.store.db import Store
from tunelab.store.repo import Rows, assign
from tunelab.store.tables import Job, JobEvent, utcnow

ACTIVE = ("queued", "running")
DONE = ("succeeded", "failed", "cancelled")


class JobsRows(Rows[Job]):
    def submit(self, store: Store, job_id: str, kind: str, config: dict, *, owner: str | None = None,
               priority: int = 0) -> Job:
        """A new queued job at the end of the queue, with its first status event."""
        with store.session(immediate=True) as s:
            last = s.scalar(select(func.max(Job.position)).where(Job.status == "queued"))
            job = Job(id=job_id, kind=kind, config=config, status="queued", priority=priority,
                      position=(last or 0) + 1, owner=owner, attempts=0, cancel_requested=False, result={})
            s.add(job)
            s.flush()
            s.add(JobEvent(job_id=job_id, kind="status", data={"status": "queued"}))
            return job

    def claim(self, store: Store, worker: str, *, stale_before: datetime, max_attempts: int = 3,
              kinds: list[str] | None = None) -> Job | None:
        """Take the next job for `worker`: first a running one whose worker's last heartbeat is older
        than `stale_before` (taken over), else the queued one of highest priority and lowest position.
        A taken-over job that asked to be cancelled is cancelled instead; one started `max_attempts`
        times already fails (its worker keeps dying). None when there is nothing to run."""
        stale = (Job.status == "running") & (or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale_before))
        query = (select(Job).where(or_(Job.status == "queued", stale))
                 .order_by((Job.status == "running").desc(), Job.priority.desc(), Job.position, Job.created_at)
                 .limit(1).with_for_update(skip_locked=True))
        if kinds:
            query = query.where(Job.kind.in_(kinds))
        while True:
            with store.session(immediate=True) as s:
                job = s.scalar(query)
                if job is None:
                    return None
                now = utcnow()
                if job.status == "running" and (job.cancel_requested or job.attempts >= max_attempts):
                    why = "cancelled" if job.cancel_requested else "failed"
                    self._end(s, job, why, error_type=None if job.cancel_requested else "WorkerLost",
                              error=None if job.cancel_requested else
                              f"Its worker stopped {job.attempts} times (no heartbeat); not started again.")
                    continue
                taken_over = job.status == "running"
                assign(job, {"status": "running", "worker": worker, "heartbeat_at": now,
                             "attempts": job.attempts + 1, "started_at": job.started_at or now})
                s.add(JobEvent(job_id=job.id, kind="status",
                               data={"status": "running", "worker": worker, "attempt": job.attempts,
                                     "taken_over": taken_over}))
                return job

    def heartbeat(self, store: Store, job_id: str, worker: str) -> Job | None:
        """The worker is alive: stamp the job; returns it (check `cancel_requested`), or None when the
        job is no longer this worker's (taken over or ended)."""
        with store.session() as s:
            done = s.execute(update(Job).where(Job.id == job_id, Job.worker == worker, Job.status == "running")
                             .values(heartbeat_at=utcnow()))
            return s.get(Job, job_id) if done.rowcount else None

    def set_result(self, store: Store, job_id: str, **values: Any) -> None:
        """Merge `values` into the job's result (e.g. run_id as soon as a training run starts)."""
        with store.session(immediate=True) as s:
            job = s.get(Job, job_id)
            job.result = {**(job.result or {}), **values}

    def finish(self, store: Store, job_id: str, status: str, *, worker: str | None = None,
               error_type: str | None = None, error: str | None = None) -> Job | None:
        """End a running job (`worker`: only if it is still that worker's); None when it was not."""
        with store.session(immediate=True) as s:
            job = s.get(Job, job_id, with_for_update=True)
            if job is None or job.status != "running" or (worker is not None and job.worker != worker):
                return None
            self._end(s, job, status, error_type=error_type, error=error)
            return job

    def request_cancel(self, store: Store, job_id: str) -> Job | None:
        """A queued job is cancelled at once; a running one is asked to stop (its worker does it)."""
        with store.session(immediate=True) as s:
            job = s.get(Job, job_id, with_for_update=True)
            if job is None or job.status not in ACTIVE:
                return job
            if job.status == "queued":
                self._end(s, job, "cancelled")
            elif not job.cancel_requested:
                job.cancel_requested = True
                s.add(JobEvent(job_id=job_id, kind="status", data={"status": "running", "cancel_requested": True}))
            return job

    def requeue(self, store: Store, job_id: str) -> Job | None:
        """A failed or cancelled job goes to the end of the queue again (its result kept: a training job
        resumes from its run's last checkpoint)."""
        with store.session(immediate=True) as s:
            job = s.get(Job, job_id, with_for_update=True)
            if job is None or job.status not in ("failed", "cancelled"):
                return job
            last = s.scalar(select(func.max(Job.position)).where(Job.status == "queued"))
            assign(job, {"status": "queued", "position": (last or 0) + 1, "cancel_requested": False,
                         "worker": None, "heartbeat_at": None, "error_type": None, "error": None,
                         "finished_at": None, "attempts": 0})
            s.add(JobEvent(job_id=job_id, kind="status", data={"status": "queued", "retry": True}))
            return job

    def move(self, store: Store, job_id: str, to: int) -> Job | None:
        """Put a queued job at place `to` (1 = next) among the queued jobs; the others shift."""
        with store.session(immediate=True) as s:
            queued = list(s.scalars(select(Job).where(Job.status == "queued")
                                    .order_by(Job.position, Job.created_at).with_for_update()))
            job = next((j for j in queued if j.id == job_id), None)
            if job is None:
                return s.get(Job, job_id)
            queued.remove(job)
            queued.insert(max(0, min(to - 1, len(queued))), job)
            for i, j in enumerate(queued, start=1):
                j.position = i
            return job

    def page(self, store: Store, *, status: str | None = None, kind: str | None = None, owner: str | None = None,
             limit: int = 50, offset: int = 0) -> tuple[list[Job], int]:
        """Jobs newest first, filtered, one page of them, and how many match in all."""
        query = select(Job)
        for column, value in (("status", status), ("kind", kind), ("owner", owner)):
            if value is not None:
                query = query.where(getattr(Job, column) == value)
        with store.session() as s:
            total = s.scalar(select(func.count()).select_from(query.subquery()))
            rows = s.scalars(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit).offset(offset))
            return list(rows), int(total or 0)

    def queue(self, store: Store) -> list[Job]:
        """Queued jobs in the order they will run."""
        with store.session() as s:
            return list(s.scalars(select(Job).where(Job.status == "queued")
                                  .order_by(Job.priority.desc(), Job.position, Job.created_at)))

    # -- events -------------------------------------------------------------------------------------

    def add_events(self, store: Store, job_id: str, events: list[tuple[str, dict]]) -> None:
        if events:
            with store.session() as s:
                s.add_all(JobEvent(job_id=job_id, kind=kind, data=data) for kind, data in events)

    def events_after(self, store: Store, job_id: str, after: int = 0, *, limit: int = 500) -> list[JobEvent]:
        """The job's events with an id above `after`, oldest first."""
        with store.session() as s:
            return list(s.scalars(select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.id > after)
                                  .order_by(JobEvent.id).limit(limit)))

    @staticmethod
    def _end(s, job: Job, status: str, *, error_type: str | None = None, error: str | None = None) -> None:
        assign(job, {"status": status, "finished_at": utcnow(), "error_type": error_type, "error": error,
                     "heartbeat_at": None})
        data = {"status": status}
        if error_type:
            data.update(error_type=error_type, error=error)
        s.add(JobEvent(job_id=job.id, kind="status", data=data))


JOBS = JobsRows(Job)
