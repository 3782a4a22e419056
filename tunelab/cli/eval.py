"""`tunelab eval [CONFIG.yaml] [--task T --model A --model B ...]`: compare models side by side, write
the report, print the comparison and the gate outcomes (exit 1 when a gate fails, 2 on bad input);
`tunelab evals list` / `tunelab evals show ID` read past runs back from the store."""

from __future__ import annotations

import asyncio
import math
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tunelab.cli.common import console, console_err, settings, store
from tunelab.cli.errors import user_errors
from tunelab.cli.jobs import submit_detached
from tunelab.eval.config import eval_config_from, load_eval_config
from tunelab.eval.results import EvalResult, higher_is_better
from tunelab.eval.runner import run_eval
from tunelab.eval.runs import get_run, list_runs
from tunelab.progress import Progress

evals_app = typer.Typer(help="Evaluation runs: their metrics and where their reports are.", no_args_is_help=True)


def _flags(task, models, predictions, split, data, limit, judge, rubric, out, attributes) -> dict:
    """The flags a user gave, as config keys (flags left out do not override the YAML)."""
    given: dict = {}
    for key, value in (("task", task), ("split", split), ("data", data), ("limit", limit), ("out", out),
                       ("attributes", attributes)):
        if value is not None:
            given[key] = value
    if models:
        given["models"] = list(models)
    if predictions:
        given["predictions"] = list(predictions)
    if judge:
        given["judge"] = {"model": judge, **({"rubric": rubric} if rubric else {})}
    elif rubric:
        raise ValueError("--rubric needs --judge MODEL: the model that grades with it.")
    return given


def _fmt(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.4f}"


def print_comparison(result) -> None:
    """Models as rows (baseline first), metrics as columns, each candidate's delta under its value."""

    metrics = result.metric_names()
    n = len(result.examples) or result.params.get("examples", 0)
    table = Table(title=f"{result.task} on {result.split} ({n} examples)", show_lines=len(result.models) > 1)
    table.add_column("model")
    for m in metrics:
        table.add_column(m, justify="right")
    base = result.baseline
    for i, model in enumerate(result.models):
        cells = []
        for m in metrics:
            v, b = result.value(model, m), result.value(base, m)
            text = _fmt(v)
            if i > 0 and not (math.isnan(v) or math.isnan(b)):
                d = v - b
                colour = "green" if (d > 0) == higher_is_better(m) and d != 0 else ("red" if d != 0 else "dim")
                text += f"\n[{colour}]{d:+.4f}[/]"
            cells.append(text)
        label = escape(model) + (" [dim](baseline)[/]" if i == 0 else "")
        table.add_row(label, *cells)
    console.print(table)


def print_gates(result) -> bool:
    """One line per gate and candidate; True when all passed."""
    for g in result.gates:
        mark = "[green]pass[/]" if g["passed"] else "[bold red]FAIL[/]"
        console.print(f"gate {mark} {escape(g['model'])}: {escape(g['gate'])}  ({escape(g['detail'])})", soft_wrap=True)
    return all(g["passed"] for g in result.gates)


def eval_command(
    config: Annotated[str | None, typer.Argument(help="Eval YAML (see examples/); flags override its keys.")] = None,
    task: Annotated[str | None, typer.Option("--task", help="classify | extract | qa | preference | retrieval.")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="A model, adapter or upstream/model to compare; repeat it, the baseline first.")] = None,
    predictions: Annotated[list[str] | None, typer.Option("--predictions", help="A JSONL file of {id, prediction} to compare as one more column; repeatable.")] = None,
    split: Annotated[str | None, typer.Option("--split", help="train | validation | test (default test); classify also real (hand-labelled real-style titles); with --data, any split its records name.")] = None,
    data: Annotated[str | None, typer.Option("--data", help="Your own data file instead of the shipped sample.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N examples.")] = None,
    attributes: Annotated[str | None, typer.Option("--attributes", help="extract: attribute names, comma-separated (default: each record's own).")] = None,
    judge: Annotated[str | None, typer.Option("--judge", help="LLM-as-judge model: adds the judge metric (mean 1-5).")] = None,
    rubric: Annotated[str | None, typer.Option("--rubric", help="The judge's rubric: text or a file (default: the task's).")] = None,
    gate: Annotated[list[str] | None, typer.Option("--gate", help="A check every candidate must pass, e.g. \"f1 >= baseline + 0.02\"; repeatable. Exit 1 when one fails.")] = None,
    out: Annotated[str | None, typer.Option("--out", help="Report folder (default: <home>/evals/<run id>).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config key: --set k=10 --set judge.max_tokens=64")] = None,
    detach: Annotated[bool, typer.Option("--detach", help="Queue it as a background job instead (prints the job id).")] = False,
) -> None:
    """Evaluate models and adapters side by side at temperature 0 and write an HTML + JSON report."""


    with user_errors():
        flags = _flags(task, model, predictions, split, data, limit, judge, rubric, out, attributes)
        if config is None and "task" not in flags:
            raise ValueError("give a CONFIG.yaml, or --task with --model (the baseline first).")
        cfg = load_eval_config(config, set_ or [], base=flags)
        if gate:  # --gate adds to the config's gates (a CI job may tighten a shared config)
            cfg = eval_config_from({**cfg.model_dump(), "gate": [*cfg.gate, *gate]}, config or "command line")
        if detach:
            submit_detached("eval", {"eval": cfg.model_dump(mode="json")})
            return
        with Progress(console_err, f"eval {cfg.task}", interval_s=settings().progress_interval_s) as progress:
            result = asyncio.run(run_eval(cfg, settings(), store(), progress=progress))
    print_comparison(result)
    console.print(f"run {escape(result.run_id or '')}: report {escape(result.params['out'])}/report.html", soft_wrap=True)
    errors = result.params.get("errors")
    if errors:
        console_err.print(f"[yellow]warning:[/] model errors on some examples: {escape(str(errors))} (see examples.jsonl)")
    if not print_gates(result):
        raise typer.Exit(1)


@evals_app.command("list")
def list_command(
    task: Annotated[str | None, typer.Option("--task", help="Only runs of this task.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most runs shown.")] = 20,
) -> None:
    """List evaluation runs, newest first."""

    table = Table("task", "split", "status", "models", "f1 / main metric", "report")
    table.columns[-1].overflow = "fold"  # a path must stay whole for copy-paste
    table.add_column("run", no_wrap=True)  # ids stay whole: `evals show ID` needs them
    for r in list_runs(store(), limit=limit, task=task):
        main = ""
        if r.models and r.metrics.get(r.models[0]):
            values = r.metrics[r.models[0]]
            name = "f1" if "f1" in values else next(iter(values))
            main = " / ".join(_fmt(r.metrics.get(m, {}).get(name, math.nan)) for m in r.models) + f" ({name})"
        table.add_row(r.task, r.split, r.status, escape(", ".join(r.models)), main, escape(r.report_dir or ""), r.id)
    console.print(table)


@evals_app.command("show")
def show_command(run_id: str) -> None:
    """Show one run: metrics side by side, gates, error, report folder."""

    with user_errors():
        r = get_run(store(), run_id)
    console.print(f"[bold]{escape(r.id)}[/] {r.task} on {r.split}: {r.status}"
                  + (f" in {r.duration_s:.1f} s" if r.duration_s else ""))
    if r.error:
        console.print(f"error: {r.error}", markup=False)
    if r.metrics:
        result = EvalResult(r.task, r.split, r.models, r.metrics, params=r.params, gates=r.params.get("gates", []))
        print_comparison(result)
        print_gates(result)
    if r.report_dir:
        console.print(f"report: {escape(r.report_dir)}/report.html", soft_wrap=True)
