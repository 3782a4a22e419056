"""`tunelab schedules add | list | remove | run | accept | results` (evaluations on a cadence, see
`tunelab.jobs.schedules`) and `tunelab alerts list | check | resolve` (the quality alerts they
raise). `alerts check` exits 1 while an alert is firing, for CI; with --run it evaluates the named
schedules first (or, with --due, those whose time has come), in this process."""

from __future__ import annotations

import json
import re
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tunelab.cli.common import console, settings, store
from tunelab.cli.errors import user_errors
from tunelab.config_files import apply_overrides
from tunelab.jobs.schedules import accept, add_schedule, get_schedule, now, run_schedule
from tunelab.progress import Progress
from tunelab.store import ALERTS, SCHEDULE_RESULTS, SCHEDULES

schedules_app = typer.Typer(help="Evaluations run on a cadence, compared with an accepted result.",
                            no_args_is_help=True)
alerts_app = typer.Typer(help="Quality alerts raised by scheduled evaluations.", no_args_is_help=True)


@schedules_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    every: Annotated[str, typer.Option("--every", help="'6h' / 'every 30m' (s, m, h, d, w), or a 5-field cron "
                                                       "line in UTC ('0 3 * * *').")],
    model: Annotated[list[str], typer.Option("--model", help="The model or adapter watched (repeat: a baseline "
                                                             "first, the watched one last).")],
    task: Annotated[str, typer.Option("--task", help="classify, extract, qa or preference.")],
    split: Annotated[str, typer.Option("--split", help="train, validation, test or real.")] = "test",
    data: Annotated[str | None, typer.Option("--data", help="Your own data file (default: the sample).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N examples.")] = None,
    gate: Annotated[list[str] | None, typer.Option("--gate", help="e.g. 'accuracy>=0.8' (repeat for more).")] = None,
    drift: Annotated[float, typer.Option("--drift", help="Largest drop of a metric from the accepted result "
                                                         "before an alert (absolute).")] = 0.05,
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST each alert here as JSON "
                                                                  "(default: TUNELAB_ALERT_WEBHOOK).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Any other eval config field, key=value.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a schedule of that name.")] = False,
) -> None:
    """Add a scheduled evaluation; its first run is due at once (a worker runs it, or alerts check --run)."""
    if re.fullmatch(r"\d+\s*[smhdw]", every.strip()):
        every = f"every {every.strip()}"
    fields = {"task": task, "models": model, "split": split, "data": data, "limit": limit, "gate": gate or []}
    with user_errors():
        fields = apply_overrides({k: v for k, v in fields.items() if v is not None}, set_ or [])
        row = add_schedule(store(), name, fields, every=every, drift=drift, webhook=webhook, replace=replace)
    console.print(f"schedule [bold]{escape(row.name)}[/]: {escape(task)} of {escape(model[-1])} {escape(every)}, "
                  f"drift {drift:g}" + (f", gates {escape(', '.join(gate))}" if gate else ""), soft_wrap=True)


@schedules_app.command("list")
def list_schedules() -> None:
    """List the schedules with their next run and accepted result."""
    table = Table("name", "task", "model", "every", "gates", "drift", "next run", "accepted")
    for r in SCHEDULES.all(store()):
        table.add_row(escape(r.name), r.eval.get("task", ""), escape((r.eval.get("models") or ["-"])[-1]),
                      escape(r.every), escape(", ".join(r.eval.get("gate", []))), f"{r.drift:g}",
                      f"{r.next_run_at:%Y-%m-%d %H:%M} UTC" if r.next_run_at else "now",
                      str(r.accepted_result or "-"))
    console.print(table)


@schedules_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="The schedule to remove, with its results and alerts.")]) -> None:
    """Remove a schedule."""
    with user_errors():
        get_schedule(store(), name)
    SCHEDULES.remove(store(), name)
    console.print(f"removed schedule {escape(name)}")


def _run(name: str) -> int:
    with Progress(console, f"schedule {name}", interval_s=settings().progress_interval_s) as progress:
        out = run_schedule(store(), settings(), name, progress=progress)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in out.metrics.items())
    console.print(f"schedule {escape(name)}: result {out.result_id} of {escape(out.model)}: {escape(shown)}"
                  + (" (accepted)" if out.accepted else ""), soft_wrap=True)
    for a in out.alerts:
        console.print(f"[bold red]ALERT[/] {a['reason']}: {escape(a['message'])}", soft_wrap=True)
    if out.webhook_status is not None:
        console.print(f"webhook: {escape(out.webhook_status)}")
    return len(out.alerts)


@schedules_app.command("run")
def run(name: Annotated[str, typer.Argument(help="The schedule to evaluate now.")]) -> None:
    """Evaluate a schedule now, in this process; exit 1 when it raised an alert."""
    with user_errors():
        raised = _run(name)
    raise typer.Exit(1 if raised else 0)


@schedules_app.command("accept")
def accept_command(name: Annotated[str, typer.Argument(help="The schedule.")],
                   result: Annotated[int | None, typer.Option("--result", help="The result to accept (default: "
                                                                                 "the latest).")] = None) -> None:
    """Make a result the one later results are compared with."""
    with user_errors():
        rid = accept(store(), name, result)
    console.print(f"schedule {escape(name)}: result {rid} accepted")


@schedules_app.command("results")
def results(name: Annotated[str, typer.Argument(help="The schedule.")],
            limit: Annotated[int, typer.Option("--limit", min=1)] = 20) -> None:
    """A schedule's results, newest first."""
    with user_errors():
        row = get_schedule(store(), name)
    table = Table("id", "when", "model", "metrics", "gates", "eval run")
    for r in SCHEDULE_RESULTS.of(store(), name, limit):
        mark = " (accepted)" if r.id == row.accepted_result else ""
        table.add_row(f"{r.id}{mark}", f"{r.created_at:%Y-%m-%d %H:%M:%S}", escape(r.model),
                      escape(json.dumps({k: round(v, 4) for k, v in r.metrics.items()})),
                      "pass" if r.passed else "FAIL", r.eval_run_id or "-")
    console.print(table)


def _alerts_table(rows) -> Table:
    table = Table("id", "schedule", "reason", "firing", "raised", "webhook", "message")
    for a in rows:
        table.add_row(str(a.id), escape(a.schedule), a.reason, "yes" if a.firing else "no",
                      f"{a.created_at:%Y-%m-%d %H:%M:%S}", a.webhook_status or "-", escape(a.message))
    return table


@alerts_app.command("list")
def list_alerts(all_: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False) -> None:
    """List firing alerts (with --all, resolved ones too), newest first."""
    console.print(_alerts_table(ALERTS.page(store(), firing=None if all_ else True)))


@alerts_app.command("check")
def check(
    run_: Annotated[list[str] | None, typer.Option("--run", help="Evaluate this schedule first (repeat).")] = None,
    due: Annotated[bool, typer.Option("--due", help="Evaluate every schedule whose time has come first.")] = False,
) -> None:
    """Exit 1 while any alert is firing (0: none), after running the schedules asked for."""
    names = list(run_ or [])
    if due:
        names += [r.name for r in SCHEDULES.due(store(), now()) if r.name not in names]
    with user_errors():
        for name in names:
            _run(name)
    firing = ALERTS.page(store(), firing=True, limit=1000)
    if firing:
        console.print(_alerts_table(firing))
    console.print(f"{len(firing)} alert(s) firing")
    raise typer.Exit(1 if firing else 0)


@alerts_app.command("resolve")
def resolve(alert_id: Annotated[int, typer.Argument(help="The alert (tunelab alerts list).")]) -> None:
    """Mark an alert resolved (a clean result of its schedule resolves it too)."""
    if ALERTS.resolve(store(), alert_id) is None:
        console.print(f"[bold red]error:[/] no alert {alert_id} (tunelab alerts list --all shows them)")
        raise typer.Exit(2)
    console.print(f"alert {alert_id} resolved")
