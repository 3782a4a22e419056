"""`python -m tunelab.jobs.runner JOB_ID`: run one job in this process with the library code the CLI
runs, printing progress to stdout/stderr (the worker writes both into the job's log). Results go to
the job's row (`JOBS.set_result`) as they become known; the worker alone changes the job's status.

Exit 0: succeeded. Exit CANCELLED: stopped on SIGTERM (a training job saved a checkpoint first).
Any other exit: failed; the error's class and message are in `<log>.error.json` (`error_file`).
The runner kills itself when its worker dies (its parent is gone), as a crash of that machine would.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from tunelab.jobs.service import log_path
from tunelab.models.quiet import quiet_libraries
from tunelab.progress import OutputConsole, Progress
from tunelab.settings import Settings
from tunelab.store import JOBS, RUNS, Job, Store

CANCELLED = 3  # exit status of a job stopped on SIGTERM


def error_file(settings: Settings, job_id: str) -> Path:
    return log_path(settings, job_id).with_suffix(".error.json")


class Context:
    """What a kind's function gets: the job, the store, a console that prints plain lines into the
    log, `stop()` (SIGTERM was received) and `result(**values)` to record results."""

    def __init__(self, job: Job, settings: Settings, store: Store, stop: Callable[[], bool]) -> None:
        self.job, self.settings, self.store, self.stop = job, settings, store, stop
        self.console = OutputConsole(stderr=True, highlight=False, force_terminal=False)

    def result(self, **values) -> None:
        JOBS.set_result(self.store, self.job.id, **values)

    def print(self, message: str) -> None:
        self.console.print(message, markup=False, soft_wrap=True)


# -- the kinds ---------------------------------------------------------------------------------------

def run_train(ctx: Context) -> None:
    from tunelab.train import parse_config, resume_run, run_recipe  # lazy: only a train job needs torch
    from tunelab.train.runs import new_run_id  # lazy: only a train job needs torch

    config, earlier = ctx.job.config, dict(ctx.job.result or {})
    if "resume" in config:
        run_id = config["resume"]
        ctx.result(run_id=run_id)
        out = resume_run(run_id, ctx.settings, ctx.store, console=ctx.console, stop=ctx.stop)
    else:
        cfg = parse_config(config["recipe"], f"job {ctx.job.id}")
        run_id = earlier.get("run_id") or new_run_id(cfg.recipe)
        ctx.result(run_id=run_id)  # before any work: a later attempt continues this run
        run = RUNS.by_key(ctx.store, run_id)
        if run is not None and run.status == "completed":  # the last attempt died after the run closed
            ctx.print(f"Run {run_id} already completed (adapter {run.adapter_name}).")
            out = {"run_id": run_id, "adapter": run.adapter_name, "metrics": run.final_metrics}
        else:
            if run is not None:
                ctx.print(f"Attempt {ctx.job.attempts}: continuing run {run_id} from its last checkpoint")
            out = run_recipe(cfg, ctx.settings, ctx.store, console=ctx.console, run_id=run_id,
                             resume=run is not None, stop=ctx.stop)
    ctx.result(run_id=out["run_id"], adapter=out["adapter"], metrics=out["metrics"])
    if "eval_after" in config:
        _eval_after(ctx, cfg, out["adapter"], earlier)


def _eval_after(ctx: Context, cfg, adapter: str, earlier: dict) -> None:
    """The follow-up evaluation of the new adapter against its parent (once: a retried job whose
    evaluation completed keeps it)."""
    from tunelab.eval.runs import get_run  # lazy: only a follow-up evaluation needs the eval stack
    from tunelab.jobs.eval_after import run_eval_after  # lazy: only a follow-up evaluation needs the eval stack

    if earlier.get("eval_run_id") and "gates_passed" in earlier:
        try:
            if get_run(ctx.store, earlier["eval_run_id"]).status == "completed":
                ctx.print(f"eval_after: eval run {earlier['eval_run_id']} already completed.")
                return
        except LookupError:
            pass
    if ctx.stop():
        raise TrainingStopped("Cancelled after training, before the follow-up evaluation.")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # no checkpoint to save: a cancel stops the evaluation at once
    ctx.result(**run_eval_after(ctx.job.config["eval_after"], cfg, adapter, settings=ctx.settings, store=ctx.store,
                                job_id=ctx.job.id, console=ctx.console, print_line=ctx.print))


class TrainingStopped(RuntimeError):
    """SIGTERM between training and its follow-up evaluation: the job ends cancelled."""


def run_eval_job(ctx: Context) -> None:
    from tunelab.eval.config import eval_config_from  # lazy: only an eval job needs the eval stack
    from tunelab.eval.runner import run_eval  # lazy: only an eval job needs the eval stack

    cfg = eval_config_from(ctx.job.config["eval"], f"job {ctx.job.id}")
    with Progress(ctx.console, f"eval {cfg.task}", interval_s=ctx.settings.progress_interval_s) as progress:
        result = asyncio.run(run_eval(cfg, ctx.settings, ctx.store, progress=progress))
    gates = result.gates
    ctx.result(eval_run_id=result.run_id, report=result.params.get("out"), metrics=result.metrics,
               gates_passed=all(g["passed"] for g in gates))
    for g in gates:
        ctx.print(f"gate {'pass' if g['passed'] else 'FAIL'} {g['model']}: {g['gate']} ({g['detail']})")
    ctx.print(f"eval run {result.run_id}: report {result.params.get('out')}/report.html")


def run_ingest(ctx: Context) -> None:
    from tunelab.rag import ChunkConfig, CrawlConfig, FieldMapping  # lazy: only an ingest job needs rag
    from tunelab.rag import ingest as ingest_sources  # lazy: only an ingest job needs rag
    from tunelab.rag.registry import CollectionRegistry  # lazy: only an ingest job needs rag

    c = ctx.job.config
    chunking = None
    if any(c.get(k) is not None for k in ("chunk_size", "chunk_overlap", "chunk_unit")):
        saved = CollectionRegistry(ctx.store, ctx.settings).find(c["collection"])
        base = dict((saved.settings.get("chunking") if saved else None) or {})
        base.update({k: c[f"chunk_{k}"] for k in ("size", "overlap", "unit") if c.get(f"chunk_{k}") is not None})
        chunking = ChunkConfig(**base)
    reports = ingest_sources(
        c["sources"], c["collection"], settings=ctx.settings, store=ctx.store, embedding_model=c.get("embedding_model"),
        mapping=FieldMapping.parse(c.get("mapping")), chunking=chunking, batch_size=c["batch_size"],
        crawl_config=CrawlConfig(max_depth=c["max_depth"], max_pages=c["max_pages"], delay_s=c["delay"]),
        progress=False, console=ctx.console)
    counts = {r.source: {"added": r.added, "unchanged": r.unchanged, "updated": r.updated, "failed": r.failed,
                         "skipped": r.skipped, "chunks": r.chunks_embedded} for r in reports}
    ctx.result(collection=c["collection"], sources=counts)
    for source, n in counts.items():
        ctx.print(f"{source}: " + ", ".join(f"{k} {v}" for k, v in n.items()))
    for f in [f for r in reports for f in r.failures][:20]:
        ctx.print(f"{f.kind} {f.source}: {f.reason}")
    if any(r.failed and not (r.added or r.updated or r.unchanged) for r in reports):
        raise IngestFailed("A source gave no document at all (the reasons are above).")


class IngestFailed(RuntimeError):
    pass


def run_merge(ctx: Context) -> None:
    from tunelab.adapters import AdapterRegistry, merge_adapters  # lazy: only a merge job needs adapters

    c = ctx.job.config
    weights = c.get("weights") or [1.0 / len(c["adapters"])] * len(c["adapters"])
    info = merge_adapters(AdapterRegistry(ctx.store, ctx.settings), ctx.settings, ctx.store, c["adapters"], weights,
                          method=c["method"], density=c.get("density"), new_name=c["name"])
    ctx.result(adapter=info.name, path=str(info.path))
    ctx.print(f"Merged {', '.join(c['adapters'])} into {info.name} at {info.path}")


def run_export(ctx: Context) -> None:
    from tunelab.adapters import AdapterRegistry, export_adapter, export_merged  # lazy: only an export job

    c = ctx.job.config
    registry = AdapterRegistry(ctx.store, ctx.settings)
    if c.get("merged"):
        folder = export_merged(registry, ctx.settings, ctx.store, c["adapter"], c["out"])
    else:
        folder = export_adapter(registry, c["adapter"], c["out"])
    ctx.result(adapter=c["adapter"], path=str(folder))
    ctx.print(f"Exported {c['adapter']} to {folder}")


def run_quickstart_job(ctx: Context) -> None:
    from tunelab.recipes.quickstart import run_quickstart  # lazy: only a quickstart job needs torch

    c = ctx.job.config
    out = run_quickstart(ctx.settings, ctx.store, base_model=c.get("model"), adapter_name=c["adapter"],
                         retrain=c["retrain"], max_steps=c["max_steps"] or None, limit=c["limit"] or None,
                         console=ctx.console, stage=ctx.print,
                         progress_for=lambda d: Progress(ctx.console, d, interval_s=ctx.settings.progress_interval_s))
    ctx.result(adapter=out.adapter, trained=out.trained, summary=str(out.summary) if out.summary else None,
               reports={t: ev.params.get("out") for t, ev in out.evals.items()})
    ctx.print(f"quickstart done in {out.duration_s / 60:.1f} min: {out.summary}")


def run_generate_data(ctx: Context) -> None:
    from tunelab.datagen.config import GenerateConfig  # lazy: only a generate_data job needs datagen
    from tunelab.datagen.errors import GenerationStopped  # lazy: only a generate_data job needs datagen
    from tunelab.datagen.generate import generate_dataset  # lazy: only a generate_data job needs datagen

    cfg = GenerateConfig.model_validate(ctx.job.config)
    try:
        out = asyncio.run(generate_dataset(cfg, ctx.settings, ctx.store, console=ctx.console))
    except GenerationStopped as exc:  # what was made stays; a retry of the job continues it
        ctx.result(made=exc.made, partial=exc.partial)
        raise
    for f in out.failures[:20]:
        ctx.print(f"skipped source {f.source}: {f.reason}")
    ctx.result(dataset=out.dataset.name, records=out.dataset.num_records, records_file=out.records_file,
               made_now=out.made_now, skipped=out.skipped)
    ctx.print(f"dataset {out.dataset.name}: {out.dataset.num_records} {cfg.kind} records ({out.records_file})")


def run_scheduled_eval(ctx: Context) -> None:
    from tunelab.jobs.schedules import run_schedule  # lazy: only a scheduled evaluation needs it

    with Progress(ctx.console, "scheduled eval", interval_s=ctx.settings.progress_interval_s) as progress:
        out = run_schedule(ctx.store, ctx.settings, ctx.job.config["schedule"], progress=progress)
    ctx.result(schedule=out.schedule, result_id=out.result_id, eval_run_id=out.eval_run_id, metrics=out.metrics,
               alerts=len(out.alerts), accepted=out.accepted)
    for a in out.alerts:
        ctx.print(f"ALERT {a['reason']}: {a['message']}")
    ctx.print(f"schedule {out.schedule}: result {out.result_id}, {len(out.alerts)} alert(s)")


KINDS: dict[str, Callable[[Context], None]] = {
    "train": run_train, "eval": run_eval_job, "ingest": run_ingest, "merge": run_merge, "export": run_export,
    "quickstart": run_quickstart_job, "generate_data": run_generate_data, "scheduled_eval": run_scheduled_eval,
}


# -- the process --------------------------------------------------------------------------------------

def _die_with_parent(poll_s: float = 0.5) -> None:
    """Its worker is gone (killed, crashed): stop at once, as that machine would have."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_job(job_id: str, settings: Settings | None = None) -> int:
    """Run job `job_id`; the process's exit status (0, CANCELLED, or 1 with the error file written)."""
    settings = settings or Settings()
    cancelled = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: cancelled.set())
    store = Store(settings)
    errors = error_file(settings, job_id)
    errors.unlink(missing_ok=True)
    try:
        job = JOBS.by_key(store, job_id)
        if job is None:
            raise LookupError(f"No job '{job_id}'.")
        if job.kind not in KINDS:
            raise LookupError(f"Job {job_id} has kind '{job.kind}', which this runner does not know.")
        if job.kind != "train":  # a kind without a stop hook stops where it is
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        ctx = Context(job, settings, store, cancelled.is_set)
        ctx.print(f"job {job_id}: {job.kind}, attempt {job.attempts}, pid {os.getpid()}")
        KINDS[job.kind](ctx)
        ctx.print(f"job {job_id}: done")
        return 0
    except Exception as exc:
        if cancelled.is_set() and type(exc).__name__ in ("TrainingCancelled", "TrainingStopped"):
            print(f"job {job_id}: cancelled: {exc}", file=sys.stderr, flush=True)
            return CANCELLED
        traceback.print_exc()
        errors.parent.mkdir(parents=True, exist_ok=True)
        errors.write_text(json.dumps({"error_type": type(exc).__name__, "error": str(exc)}))
        return 1
    finally:
        store.dispose()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m tunelab.jobs.runner JOB_ID", file=sys.stderr)
        sys.exit(2)
    quiet_libraries()
    _die_with_parent()
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    sys.exit(run_job(argv[0]))


if __name__ == "__main__":
    main()
