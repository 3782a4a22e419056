"""`tunelab feedback list | export | build-dataset`: the ratings, edits and side-by-side choices given
in the chat playground (or over /v1/feedback), and the preference dataset they make. The CLI is the
local caller: it sees every record."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tunelab.cli.common import console, console_err, settings, store
from tunelab.cli.errors import user_errors
from tunelab.data.feedback import FeedbackInfo, list_feedback
from tunelab.data.feedback_pairs import REASONS, build_preference_dataset, export_feedback

app = typer.Typer(no_args_is_help=True)

ModelOpt = Annotated[str | None, typer.Option("--model", help="Only records with an answer from this model.")]
AdapterOpt = Annotated[str | None, typer.Option("--adapter", help="Only records with an answer from this adapter.")]


@app.callback()
def feedback() -> None:
    """Feedback on answers (ratings, edits, side-by-side choices) and the preference data it makes."""


def _judgement(f: FeedbackInfo) -> str:
    parts = []
    if f.rating is not None:
        parts.append(f"{'+1' if f.rating > 0 else '-1'} on #{f.answer_index}")
    if f.edit is not None:
        parts.append(f"edit of #{f.answer_index}")
    if f.choice is not None:
        parts.append(f"#{f.choice} better")
    return ", ".join(parts)


def _cut(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


@app.command("list")
def list_command(model: ModelOpt = None, adapter: AdapterOpt = None,
                 limit: Annotated[int, typer.Option("--limit", min=1, help="Most records shown.")] = 50) -> None:
    """List feedback records, newest first."""
    rows, total = list_feedback(store(), model=model, adapter=adapter, limit=limit)
    table = Table("created", "owner", "source", "answers", "judgement", "prompt", title=f"{len(rows)} of {total} "
                  "feedback records")
    table.add_column("id", no_wrap=True)
    for f in rows:
        answers = ", ".join(f"#{i} {a.adapter or a.model}" for i, a in enumerate(f.answers))
        table.add_row(f"{f.created_at:%Y-%m-%d %H:%M:%S}", escape(f.owner or "(local)"), escape(f.source),
                      escape(answers), _judgement(f), escape(_cut(f.messages[-1]["content"])), f.id)
    console.print(table)


@app.command("export")
def export(out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file (default: stdout).")] = None,
           model: ModelOpt = None, adapter: AdapterOpt = None,
           pairs: Annotated[bool, typer.Option("--pairs", help="The preference pairs the records make, instead of "
                                                              "the records.")] = False) -> None:
    """Write feedback records (or the preference pairs they make) as JSON Lines, oldest first."""
    text = export_feedback(store(), model=model, adapter=adapter, pairs=pairs)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    console_err.print(f"wrote {text.count(chr(10))} {'pairs' if pairs else 'records'} to {escape(str(out))}",
                      soft_wrap=True)


@app.command("build-dataset")
def build_dataset(
    name: Annotated[str, typer.Argument(help="The preference dataset to register.")],
    model: ModelOpt = None, adapter: AdapterOpt = None,
    ids: Annotated[list[str] | None, typer.Option("--id", help="Only this feedback record (repeat for more).")] = None,
) -> None:
    """Register a preference dataset made from feedback.

    An edit is preferred to the answer it improves, the better side-by-side answer to each other
    answer; a rating alone makes no pair (there is no better answer to prefer).
    """
    with user_errors():
        info, build = build_preference_dataset(store(), settings(), name, ids=ids or None, model=model,
                                               adapter=adapter)
    console.print(f"Registered preference dataset [bold]{escape(info.name)}[/]: {len(build.records)} pairs from "
                  f"{len(build.used_ids)} of {build.feedback} feedback records ({build.from_edits} from edits, "
                  f"{build.from_choices} from side-by-side choices)", soft_wrap=True)
    for reason, n in build.skipped.items():
        console.print(f"  skipped {n}: {REASONS[reason]}", soft_wrap=True)
    console.print(f"Train on it: tunelab train examples/dpo.yaml --set dataset={escape(info.name)} "
                  "--set sft_adapter=THE_ADAPTER_THAT_ANSWERED", soft_wrap=True)
