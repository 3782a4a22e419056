"""`tunelab train CONFIG.yaml [--set key=value ...]`, `tunelab train --resume RUN`, `tunelab runs`."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.table import Table

from tunelab.cli.common import console, console_err, settings, store
from tunelab.cli.jobs import submit_detached
from tunelab.train import load_config, resume_run, run_recipe
from tunelab.train.runs import RunRecorder
from tunelab.train.runs import list_runs as runs

runs_app = typer.Typer(help="Training runs: status, metrics, where their files are.", no_args_is_help=True)


def train(
    config: Annotated[str | None, typer.Argument(help="Recipe YAML (see examples/).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config key: --set learning_rate=1e-4 --set lora.r=8")] = None,
    resume: Annotated[str | None, typer.Option(help="Continue this run id from its last checkpoint.")] = None,
    detach: Annotated[bool, typer.Option("--detach", help="Queue it as a background job instead (prints the job id).")] = False,
    nproc: Annotated[int, typer.Option("--nproc", min=1, help="Train data-parallel in N local processes (DDP; FSDP for method: full), "
                                       "launched with torchrun; the global batch is batch_size x grad_accum x N.")] = 1,
) -> None:
    """Fine-tune: run an sft, dpo or classifier recipe and register the result as an adapter."""

    if nproc > 1:
        _launch(nproc, config, set_ or [], resume, detach)
        return
    if resume:
        if config or set_:
            raise typer.BadParameter("--resume takes the run's own config; give no CONFIG or --set with it.")
        if detach:
            submit_detached("train", {"resume": resume})
            return
        result = resume_run(resume, settings(), store(), console=console_err)
    else:
        if not config:
            raise typer.BadParameter("give a CONFIG.yaml, or --resume RUN_ID")
        cfg = load_config(config, set_ or [])
        if detach:
            submit_detached("train", {"recipe": cfg.model_dump(mode="json")})
            return
        result = run_recipe(cfg, settings(), store(), console=console_err)
    if os.environ.get("RANK", "0") == "0":  # under torchrun: once, by rank 0
        console.print(f"run {result['run_id']} -> adapter {result['adapter']}")


def _launch(nproc: int, config: str | None, set_: list[str], resume: str | None, detach: bool) -> None:
    """`--nproc N`: check the command here (a bad config fails once, not N times), then run it again
    under torchrun in N processes."""
    from tunelab.train.launch import relaunch  # lazy: only --nproc needs it

    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        raise typer.BadParameter("this process is already one of a distributed launch (WORLD_SIZE is set); "
                                 "leave out --nproc", param_hint="--nproc")
    if detach:
        raise typer.BadParameter("a background job trains in one process; leave out --nproc or --detach",
                                 param_hint="--nproc")
    if resume:
        if config or set_:
            raise typer.BadParameter("--resume takes the run's own config; give no CONFIG or --set with it.")
        RunRecorder(store(), resume).get()  # an unknown run: the error names recent ones
        relaunch(nproc, ["train", "--resume", resume])
    if not config:
        raise typer.BadParameter("give a CONFIG.yaml, or --resume RUN_ID")
    load_config(config, set_)
    relaunch(nproc, ["train", config, *(a for s in set_ for a in ("--set", s))])


@runs_app.command("list")
def list_runs() -> None:
    """List training runs, newest first."""

    table = Table("run", "recipe", "status", "base", "step", "adapter", "eval_loss")
    for r in runs(store()):
        table.add_row(r.id, r.recipe, r.status, r.base_model, f"{r.step}/{r.total_steps}", r.adapter_name or "",
                      f"{r.final_metrics.get('eval_loss', float('nan')):.4f}" if r.final_metrics else "")
    console.print(table)


@runs_app.command("show")
def show(run_id: str) -> None:
    """Show a run's config, status, error and metric history."""


    rec = RunRecorder(store(), run_id)
    r = rec.get()
    console.print(f"[bold]{r.id}[/] {r.recipe} {r.status} step {r.step}/{r.total_steps}")
    if r.error:
        console.print(f"error: {r.error}", markup=False)
    console.print_json(json.dumps({"config": r.config, "final_metrics": r.final_metrics}))
    for name in ("train_loss", "eval_loss"):
        points = rec.metrics(name)
        if points:
            console.print(f"{name}: " + " ".join(f"{s}:{v:.3f}" for s, v in points[-20:]))
