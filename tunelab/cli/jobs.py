"""`tunelab jobs submit | list | show | logs | cancel | retry | move` over the job queue in the store,
`tunelab worker` (runs queued jobs until Ctrl-C), and `submit_detached`, which `--detach` on train,
eval, ingest and quickstart uses to queue the same input instead of running it."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tunelab.cli.common import console, console_err, settings, store
from tunelab.cli.errors import user_errors
from tunelab.config_files import ConfigError, apply_overrides, read_yaml_mapping
from tunelab.jobs.kinds import KINDS
from tunelab.jobs.service import JobService
from tunelab.jobs.worker import Worker

app = typer.Typer(help="Background jobs: queue long work, follow it, cancel or retry it.", no_args_is_help=True)
DONE = ("succeeded", "failed", "cancelled")


def service() -> JobService:
    return JobService(store(), settings())


RECIPE_PATHS = ("dataset", "eval_dataset", "dataset_dir")  # recipe fields that may name a local file


def submit_detached(kind: str, config: dict, priority: int = 0) -> str:
    """Queue a job (validated first) and say how to follow it; returns its id. A recipe's dataset
    files are made absolute: the worker may run in another folder."""
    if kind == "train" and isinstance(config.get("recipe"), dict):
        recipe = dict(config["recipe"])
        for key in RECIPE_PATHS:
            value = recipe.get(key)
            if isinstance(value, str) and Path(value).expanduser().exists():
                recipe[key] = str(Path(value).expanduser().resolve())
        config = {**config, "recipe": recipe}
    job = service().submit(kind, config, priority=priority)
    console.print(job.id)
    console_err.print(f"queued {kind} job {escape(job.id)}; follow it with: tunelab jobs logs {escape(job.id)} -f "
                      "(a worker runs it: tunelab serve or tunelab worker)", soft_wrap=True)
    return job.id


def local_sources(sources: list[str]) -> list[str]:
    """Paths made absolute (a worker may run elsewhere in the file system); URLs as given."""
    return [s if s.startswith(("http://", "https://")) else str(Path(s).expanduser().resolve()) for s in sources]


@app.command("submit")
def submit(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(KINDS)}.")],
    config: Annotated[str, typer.Argument(help="YAML: the recipe (train), the eval config (eval), or the kind's fields.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config key: --set learning_rate=1e-4")] = None,
    priority: Annotated[int, typer.Option(help="Higher runs first.")] = 0,
) -> None:
    """Queue a job; prints its id. A bad config is refused (the field named) and nothing is queued."""
    with user_errors():
        data = apply_overrides(read_yaml_mapping(config, ConfigError), set_ or [])
        if kind == "train":
            data = {"recipe": data}
        elif kind == "eval":
            data = {"eval": data}
        elif kind == "ingest" and isinstance(data.get("sources"), list):
            data["sources"] = local_sources([str(s) for s in data["sources"]])
        submit_detached(kind, data, priority)


@app.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option("--status", help="queued | running | succeeded | failed | cancelled.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only jobs of this kind.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most jobs shown.")] = 50,
) -> None:
    """List jobs, newest first."""
    rows, total = service().list(status=status, kind=kind, limit=limit)
    table = Table("kind", "status", "queue", "prio", "attempts", "worker", "created", "result / error",
                  title=f"{len(rows)} of {total} jobs")
    table.add_column("job", no_wrap=True)
    for j in rows:
        outcome = f"{j.error_type}: {j.error}" if j.error else ", ".join(
            f"{k} {v}" for k, v in j.result.items() if isinstance(v, str))
        table.add_row(j.kind, j.status + (" (cancelling)" if j.cancel_requested and j.status == "running" else ""),
                      str(j.position or ""), str(j.priority), str(j.attempts), escape(j.worker or ""),
                      f"{j.created_at:%Y-%m-%d %H:%M:%S}", escape(outcome), j.id)
    console.print(table)


@app.command("show")
def show(job_id: Annotated[str, typer.Argument(help="Job id.")]) -> None:
    """Print a job as JSON: its input, status, attempts, result, error."""
    with user_errors():
        info = service().get(job_id)
    console.print_json(json.dumps(info.to_dict(), default=str))


@app.command("logs")
def logs(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")] = False,
) -> None:
    """Print a job's log (stdout and stderr of every attempt)."""
    svc = service()
    offset = 0
    with user_errors():
        while True:
            status = svc.get(job_id).status
            text, offset = svc.read_log(job_id, offset)
            if text:
                typer.echo(text, nl=False)
            if not follow or (status in DONE and not text):
                break
            if not text:
                time.sleep(0.5)
    if follow:
        console_err.print(f"job {escape(job_id)}: {status}")


@app.command("cancel")
def cancel(job_id: Annotated[str, typer.Argument(help="Job id.")]) -> None:
    """Cancel a job: a queued one at once; a running one is stopped (training saves a checkpoint)."""
    with user_errors():
        info = service().cancel(job_id)
    console.print(f"{info.id}: {info.status}" + (" (stopping)" if info.status == "running" else ""))


@app.command("retry")
def retry(job_id: Annotated[str, typer.Argument(help="Job id.")]) -> None:
    """Queue a failed or cancelled job again (training resumes from its run's last checkpoint)."""
    with user_errors():
        info = service().retry(job_id)
    console.print(f"{info.id}: {info.status} (place {info.position})")


@app.command("move")
def move(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    to: Annotated[int, typer.Option("--to", help="New place in the queue; 1 runs next.")],
) -> None:
    """Move a queued job to another place in the queue."""
    with user_errors():
        info = service().move(job_id, to)
    console.print(f"{info.id}: place {info.position}")


def worker(
    slots: Annotated[int | None, typer.Option("--slots", min=1, help="Jobs run at once (default: TUNELAB_JOB_SLOTS).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="This worker's name in the jobs table (default: host-pid).")] = None,
) -> None:
    """Run queued jobs, each in a subprocess of its own, until Ctrl-C or SIGTERM (running jobs are
    stopped, training at a checkpoint, and taken over by the next worker)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    w = Worker(store(), settings(), name=name, slots=slots)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console_err.print(f"worker {escape(w.name)}: {w.slots} slot(s), store {escape(settings().db_url)}", soft_wrap=True)
    try:
        w.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
    console_err.print(f"worker {escape(w.name)}: stopped")
