"""`tunelab predict FILE --model M --task T --out predictions.jsonl`: batch inference over a dataset
file through the batching engine, one line per input with its id, resumable; `tunelab eval
--predictions` reads the file back."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from tunelab.cli.common import console, console_err, settings, store
from tunelab.cli.errors import user_errors
from tunelab.eval.config import load_eval_config
from tunelab.eval.predict import run_predict
from tunelab.progress import Progress


class PredictTask(StrEnum):
    classify = "classify"
    extract = "extract"
    qa = "qa"
    chat = "chat"


def predict(
    file: Annotated[Path, typer.Argument(help="The dataset file to predict on (the task's format, as `tunelab eval --data` reads it).")],
    model: Annotated[str, typer.Option("--model", "-m", help="A model, adapter or upstream/model.")],
    task: Annotated[PredictTask, typer.Option("--task", help="classify | extract | qa (as their evals run them) or chat (free answers).")] = PredictTask.chat,
    out: Annotated[Path, typer.Option("--out", "-o", help="The JSONL file to write; a rerun continues it.")] = Path("predictions.jsonl"),
    split: Annotated[str | None, typer.Option("--split", help="Only records of this split, when the file has splits (default test).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N inputs.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="chat: the longest answer in tokens.")] = 256,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight at once (the engine batches them).")] = 32,
) -> None:
    """Run a model over every input of FILE and write one prediction per line, with the input's id."""
    with user_errors():
        if not file.is_file():
            raise ValueError(f"{file}: no such file")
        config = None
        if task != PredictTask.chat:
            flags = {"task": task.value, "data": str(file), "models": [model],
                     **({"split": split} if split else {}), **({"limit": limit} if limit else {})}
            config = load_eval_config(None, [], base=flags)
        with Progress(console_err, f"predict {task.value}", interval_s=settings().progress_interval_s) as progress:
            summary = asyncio.run(run_predict(config, str(file), model, out, settings(), store(), task=task.value,
                                              limit=limit, max_tokens=max_tokens, concurrency=concurrency, progress=progress))
    again = f", {summary.done_before} already there" if summary.done_before else ""
    console.print(f"{summary.written} predictions written to {escape(str(summary.out))}{again} "
                  f"({summary.total} inputs)", soft_wrap=True)
    if summary.errors:
        console_err.print(f"[yellow]warning:[/] the model failed on {summary.errors} inputs (their lines say why)")
    if task != PredictTask.chat:
        console.print(f"score it: tunelab eval --task {task.value} --data {escape(str(file))} "
                      f"--predictions {escape(str(summary.out))}", soft_wrap=True)
