"""The job queue in the store, on SQLite and on PostgreSQL: claim order (priority, then place),
takeover of a job whose worker stopped heartbeating, attempts capped, cancel and requeue, moves, and
two threads claiming at once never taking the same job."""

from __future__ import annotations

import threading
from datetime import timedelta

from pg_support import settings_on_each_backend, store_on_each_backend  # noqa: F401 - fixtures: SQLite, then PostgreSQL

from tunelab.store import JOBS, utcnow


def later(seconds: float = 30):
    return utcnow() - timedelta(seconds=seconds)


def test_claim_order_moves_and_priority(store):
    for i in range(4):
        JOBS.submit(store, f"j{i}", "train", {"i": i})
    JOBS.submit(store, "urgent", "eval", {}, priority=5)
    JOBS.move(store, "j3", 1)
    assert [j.id for j in JOBS.queue(store)] == ["urgent", "j3", "j0", "j1", "j2"]
    got = [JOBS.claim(store, "w", stale_before=later()).id for _ in range(5)]
    assert got == ["urgent", "j3", "j0", "j1", "j2"]
    assert JOBS.claim(store, "w", stale_before=later()) is None
    assert all(JOBS.by_key(store, i).attempts == 1 for i in got)


def test_a_silent_worker_s_job_is_taken_over_then_failed_past_max_attempts(store):
    JOBS.submit(store, "j", "train", {})
    assert JOBS.claim(store, "w1", stale_before=later()).worker == "w1"
    assert JOBS.claim(store, "w2", stale_before=later()) is None  # w1 heartbeats recently enough
    taken = JOBS.claim(store, "w2", stale_before=utcnow() + timedelta(seconds=1))
    assert taken.worker == "w2" and taken.attempts == 2
    assert JOBS.heartbeat(store, "j", "w1") is None and JOBS.heartbeat(store, "j", "w2").worker == "w2"
    assert JOBS.claim(store, "w3", stale_before=utcnow() + timedelta(seconds=1), max_attempts=2) is None
    job = JOBS.by_key(store, "j")
    assert job.status == "failed" and job.error_type == "WorkerLost"
    assert [e.data["status"] for e in JOBS.events_after(store, "j")] == ["queued", "running", "running", "failed"]


def test_cancel_requeue_and_finish(store):
    JOBS.submit(store, "q", "train", {})
    JOBS.submit(store, "r", "train", {})
    assert JOBS.request_cancel(store, "q").status == "cancelled"
    assert JOBS.claim(store, "w", stale_before=later()).id == "r"
    assert JOBS.request_cancel(store, "r").cancel_requested and JOBS.by_key(store, "r").status == "running"
    assert JOBS.finish(store, "r", "cancelled", worker="other") is None  # not that worker's job
    assert JOBS.finish(store, "r", "cancelled", worker="w").status == "cancelled"
    again = JOBS.requeue(store, "r")
    assert again.status == "queued" and not again.cancel_requested and again.attempts == 0
    assert JOBS.claim(store, "w", stale_before=later()).id == "r"


def test_threads_claiming_at_once_never_share_a_job(store):
    for i in range(30):
        JOBS.submit(store, f"j{i:02d}", "train", {})
    claimed: dict[str, list[str]] = {"a": [], "b": [], "c": []}

    def work(name: str) -> None:
        while (job := JOBS.claim(store, name, stale_before=later())) is not None:
            claimed[name].append(job.id)

    threads = [threading.Thread(target=work, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    every = sorted(i for ids in claimed.values() for i in ids)
    assert every == [f"j{i:02d}" for i in range(30)]  # each once
    assert all(JOBS.by_key(store, i).attempts == 1 for i in every)
