"""`tunelab` command line: one typer sub-app per command group; each command parses, calls the
library, and prints. Errors a user can act on are printed without a traceback and exit 2."""

from __future__ import annotations

import sys

import typer

from tunelab import __version__
from tunelab.cli import (
    adapters,
    alerts,
    ask,
    chat,
    data,
    feedback,
    generate,
    jobs,
    keys,
    models,
    predict,
    quickstart,
    rag,
    scratch,
    serve,
    traces,
    train,
    upstreams,
)
from tunelab.cli import eval as eval_cli
from tunelab.cli.errors import print_error
from tunelab.models.errors import ModelError
from tunelab.models.quiet import quiet_libraries

app = typer.Typer(
    name="tunelab",
    help="TuneLab: fine-tune, evaluate and serve open language models on hardware you own.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(models.app, name="models")
app.add_typer(data.app, name="data")
app.add_typer(adapters.app, name="adapters")
app.command("generate")(generate.generate)
app.command("chat")(chat.chat)
app.command("train")(train.train)
app.add_typer(train.runs_app, name="runs")
app.command("ingest")(rag.ingest)
app.command("search")(rag.search)
app.command("ask")(ask.ask)
app.command("serve")(serve.serve)
app.add_typer(keys.app, name="keys")
app.add_typer(upstreams.app, name="upstreams")
app.command("eval")(eval_cli.eval_command)
app.command("predict")(predict.predict)
app.add_typer(eval_cli.evals_app, name="evals")
app.command("quickstart")(quickstart.quickstart)
app.add_typer(jobs.app, name="jobs")
app.add_typer(feedback.app, name="feedback")
app.add_typer(scratch.app, name="scratch")
app.add_typer(traces.app, name="traces")
app.add_typer(alerts.schedules_app, name="schedules")
app.add_typer(alerts.alerts_app, name="alerts")
app.command("worker")(jobs.worker)


@app.command("version")
def version() -> None:
    """Print TuneLab's version."""

    typer.echo(__version__)


def main() -> None:
    quiet_libraries()
    try:
        app()
    except (ModelError, ValueError) as exc:
        print_error(exc)
        sys.exit(2)
