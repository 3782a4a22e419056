"""The worker: claims jobs from the store's queue and runs each in a subprocess of its own
(`python -m tunelab.jobs.runner ID`, in a new session), whose stdout and stderr go line by line
into the job's log file and its event stream. While a job runs, a thread stamps its heartbeat; a
job asked to cancel gets SIGTERM (a training job checkpoints and stops), then SIGKILL after a grace
period; a job taken over by another worker (this one looked dead) is killed here. When the
subprocess exits the worker records how the job ended. A worker that stops (Ctrl-C, SIGTERM, the
server shutting down) stops its jobs the same way and leaves them to be taken over, like a dead
worker's, after `job_stale_after_s`. As it polls, it queues the scheduled evaluations that are due
(`jobs.schedules.enqueue_due`).

`Worker.run_forever(stop_event)`, `Worker.run_once()` (tests), `start_embedded(store, settings, n)`
(the worker threads inside `tunelab serve`).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from tunelab.jobs.runner import CANCELLED, error_file
from tunelab.jobs.schedules import enqueue_due
from tunelab.jobs.service import log_path
from tunelab.settings import Settings
from tunelab.store import JOBS, RUNS, Job, Store
from tunelab.store.tables import utcnow

log = logging.getLogger("tunelab.jobs")

EVENT_BATCH = 50  # log lines per add_events call at most
EVENT_FLUSH_S = 0.5  # and at most this long between calls while lines come


def child_env(settings: Settings) -> dict[str, str]:
    """The environment of a runner: this process's, with every setting of `settings` as its
    TUNELAB_* variable (a worker given Settings(home=...) runs its jobs in that home)."""
    env = dict(os.environ)
    for key, value in settings.model_dump(mode="json").items():
        if value is not None:
            env[f"TUNELAB_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env


class _Running:
    """One job's subprocess and what the worker knows about it."""

    def __init__(self, job: Job, proc: subprocess.Popen, log_file: Path) -> None:
        self.job, self.proc, self.log_file = job, proc, log_file
        self.lines: list[str] = []
        self.lock = threading.Lock()
        self.flushed_at = time.monotonic()
        self.cancelling_since: float | None = None  # SIGTERM sent (cancel or shutdown) at
        self.shutdown = False  # stopped because this worker stops: left to be taken over
        self.lost = False  # no longer ours (taken over or ended elsewhere): killed, nothing recorded
        self.done = threading.Event()
        self.metric_cursor = 0  # the last run_metrics id sent as a metric event

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)  # its own session: the runner and anything it started
        except ProcessLookupError:
            pass


class Worker:
    def __init__(self, store: Store, settings: Settings, name: str | None = None, slots: int | None = None, *,
                 grace_s: float = 10.0, poll_s: float = 1.0) -> None:
        self.store, self.settings = store, settings
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
        self.slots = slots or settings.job_slots
        self.grace_s, self.poll_s = grace_s, poll_s
        self._running: dict[str, tuple[_Running, threading.Thread]] = {}
        self._slot_freed = threading.Event()  # a job ended: claim the next one now, not after poll_s

    # -- the loop -----------------------------------------------------------------------------------

    def claim(self) -> Job | None:
        stale_before = utcnow() - timedelta(seconds=self.settings.job_stale_after_s)
        return JOBS.claim(self.store, self.name, stale_before=stale_before,
                          max_attempts=self.settings.job_max_attempts)

    def run_once(self) -> Job | None:
        """Claim one job and run it to its end here; the job as it ended (None: the queue was empty)."""
        job = self.claim()
        if job is None:
            return None
        self._run(job)
        return JOBS.by_key(self.store, job.id)

    def run_forever(self, stop_event: threading.Event) -> None:
        """Run jobs, up to `slots` at once, until `stop_event` is set; then stop the running ones."""
        log.info("worker %s: %d slot(s)", self.name, self.slots)
        try:
            while not stop_event.is_set():
                try:
                    enqueue_due(self.store)  # scheduled evaluations whose time has come become jobs
                except Exception:  # the store is away for a moment: try again next round
                    log.exception("worker %s: queueing due schedules failed", self.name)
                for job_id in [j for j, (_, t) in self._running.items() if not t.is_alive()]:
                    del self._running[job_id]
                while len(self._running) < self.slots and not stop_event.is_set():
                    try:
                        job = self.claim()
                    except Exception:  # the store is away for a moment: try again next round
                        log.exception("worker %s: claim failed", self.name)
                        break
                    if job is None:
                        break
                    self._start_thread(job)
                if self._slot_freed.wait(self.poll_s):
                    self._slot_freed.clear()
        finally:
            self.stop_all()

    def stop_all(self, timeout: float | None = None) -> None:
        """Stop the running jobs (SIGTERM, SIGKILL after the grace period) and wait for them."""
        for running, _ in list(self._running.values()):
            running.shutdown = True
            if running.cancelling_since is None:
                running.cancelling_since = time.monotonic()
                running.signal(signal.SIGTERM)
        for _, thread in list(self._running.values()):
            thread.join(timeout if timeout is not None else self.grace_s + 10)
        self._running.clear()

    def _start_thread(self, job: Job) -> None:
        holder: dict = {}
        ready = threading.Event()

        def run() -> None:
            try:
                self._run(job, holder, ready)
            finally:
                self._slot_freed.set()

        thread = threading.Thread(target=run, name=f"job-{job.id}", daemon=True)
        thread.start()
        ready.wait()
        if "running" in holder:
            self._running[job.id] = (holder["running"], thread)

    # -- one job ------------------------------------------------------------------------------------

    def _run(self, job: Job, holder: dict | None = None, ready: threading.Event | None = None) -> None:
        try:
            running = self._spawn(job)
        except Exception as exc:
            log.exception("job %s: could not start", job.id)
            JOBS.finish(self.store, job.id, "failed", worker=self.name, error_type=type(exc).__name__, error=str(exc))
            return
        finally:
            if ready is not None:
                ready.set()
        if holder is not None:
            holder["running"] = running
        beat = threading.Thread(target=self._heartbeat, args=(running,), name=f"beat-{job.id}", daemon=True)
        beat.start()
        try:
            self._pump(running)
            rc = running.proc.wait()
        finally:
            running.done.set()
            beat.join()
            self._flush(running, force=True)
        self._record(running, rc)

    def _spawn(self, job: Job) -> _Running:
        path = log_path(self.settings, job.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        JOBS.update(self.store, job.id, log_path=str(path))
        with path.open("a", encoding="utf-8") as f:
            f.write(f"--- attempt {job.attempts} on worker {self.name} at {utcnow().isoformat()}\n")
        proc = subprocess.Popen([sys.executable, "-m", "tunelab.jobs.runner", job.id], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=child_env(self.settings),
                                start_new_session=True, text=True, encoding="utf-8", errors="replace", bufsize=1)
        log.info("job %s (%s): started, pid %d", job.id, job.kind, proc.pid)
        return _Running(job, proc, path)

    def _pump(self, running: _Running) -> None:
        """Every line of the runner's output into the log (flushed per line) and the event stream."""
        with running.log_file.open("a", encoding="utf-8") as f:
            for line in running.proc.stdout:
                line = line.rstrip("\n")
                f.write(line + "\n")
                f.flush()
                with running.lock:
                    running.lines.append(line)
                self._flush(running)

    def _flush(self, running: _Running, force: bool = False) -> None:
        with running.lock:
            due = force or len(running.lines) >= EVENT_BATCH or time.monotonic() - running.flushed_at >= EVENT_FLUSH_S
            if not due or not running.lines:
                return
            lines, running.lines = running.lines, []
            running.flushed_at = time.monotonic()
        try:
            JOBS.add_events(self.store, running.job.id, [("log", {"line": ln}) for ln in lines])
        except Exception:  # the log file has them; the stream misses a batch rather than the job dying
            log.exception("job %s: log events lost", running.job.id)

    def _heartbeat(self, running: _Running) -> None:
        """Stamp the job; act on a cancel request, on the job being no longer ours, on the grace period."""
        while not running.done.wait(min(self.settings.job_heartbeat_s, 0.5 if running.cancelling_since else 1e9)):
            self._flush(running)
            if running.cancelling_since is not None and time.monotonic() - running.cancelling_since > self.grace_s:
                running.signal(signal.SIGKILL)
            if running.shutdown:
                continue  # this worker stops: no more stamps, the job is left to be taken over
            try:
                job = JOBS.heartbeat(self.store, running.job.id, self.name)
            except Exception:
                log.exception("job %s: heartbeat failed", running.job.id)
                continue
            if job is None:
                log.warning("job %s: no longer this worker's (taken over or ended); killing it", running.job.id)
                running.lost = True
                running.signal(signal.SIGKILL)
            else:
                self._metric_events(running, job)
            if job is not None and job.cancel_requested and running.cancelling_since is None:
                log.info("job %s: cancel requested; SIGTERM", running.job.id)
                running.cancelling_since = time.monotonic()
                running.signal(signal.SIGTERM)

    def _metric_events(self, running: _Running, job: Job) -> None:
        """The training run's new metric points, one event per step: {"run_id", "step", "metrics"}."""
        run_id = (job.result or {}).get("run_id")
        if not run_id:
            return
        try:
            points = RUNS.metrics_after(self.store, run_id, running.metric_cursor)
            by_step: dict[int, dict[str, float]] = {}
            for point_id, step, name, value in points:
                by_step.setdefault(step, {})[name] = value
                running.metric_cursor = point_id
            JOBS.add_events(self.store, job.id, [("metric", {"run_id": run_id, "step": step, "metrics": values})
                                                 for step, values in by_step.items()])
        except Exception:  # the run's metrics stay in the store; the stream misses them, the job goes on
            log.exception("job %s: metric events lost", job.id)

    def _record(self, running: _Running, rc: int) -> None:
        job_id = running.job.id
        if running.lost:
            return
        if rc == 0:
            status, error_type, error = "succeeded", None, None
        elif running.shutdown:
            log.info("job %s: stopped with the worker; another worker takes it over", job_id)
            return
        elif running.cancelling_since is not None or rc == CANCELLED:
            status, error_type, error = "cancelled", None, None
        else:
            status, error_type, error = "failed", *_exit_error(self.settings, job_id, rc)
        final = JOBS.by_key(self.store, job_id)
        if final is not None:
            self._metric_events(running, final)  # the points logged since the last heartbeat (final eval)
        JOBS.finish(self.store, job_id, status, worker=self.name, error_type=error_type, error=error)
        log.info("job %s: %s (exit %s)", job_id, status, rc)


def _exit_error(settings: Settings, job_id: str, rc: int) -> tuple[str, str]:
    path = error_file(settings, job_id)
    try:
        data = json.loads(path.read_text())
        return data["error_type"], data["error"]
    except (OSError, ValueError, KeyError):
        if rc < 0:
            return "Killed", f"The job's process was killed by {signal.Signals(-rc).name}."
        return "ExitCode", f"The job's process exited with status {rc}."


class EmbeddedWorkers:
    """Workers on threads of this process (`tunelab serve`); `stop()` stops their jobs and them."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=w.run_forever, args=(self.stop_event,), name=f"worker-{w.name}",
                                         daemon=True) for w in workers]
        for t in self.threads:
            t.start()

    def stop(self, timeout: float | None = None) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout)


def start_embedded(store: Store, settings: Settings, n: int = 1) -> EmbeddedWorkers:
    """Start `n` workers (each with `settings.job_slots` slots) on background threads."""
    base = f"{socket.gethostname()}-{os.getpid()}-serve"
    return EmbeddedWorkers([Worker(store, settings, name=f"{base}-{i}") for i in range(n)])
