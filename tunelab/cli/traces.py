"""`tunelab traces list | show ID | export FILE`: the requests the server traced (TUNELAB_TRACE),
already redacted. An export is a `messages` dataset (the prompt, then the response as the
assistant's turn) that `tunelab data validate` and `tunelab data add` read."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tunelab.cli.common import console, console_err, store
from tunelab.data.traces import trace_dict, trace_record
from tunelab.store import TRACES

app = typer.Typer(no_args_is_help=True)

ModelOpt = Annotated[str | None, typer.Option("--model", help="Only requests to this model id.")]
AdapterOpt = Annotated[str | None, typer.Option("--adapter", help="Only requests answered by this adapter.")]
KeyOpt = Annotated[str | None, typer.Option("--key", help="Only requests made with this API key.")]
KindOpt = Annotated[str | None, typer.Option("--kind", help="chat, completion, classify, extract or qa.")]


@app.callback()
def traces() -> None:
    """Request traces of the server (opt-in: TUNELAB_TRACE=all or model:NAME,key:NAME)."""


def _cut(text: str, n: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


@app.command("list")
def list_command(model: ModelOpt = None, adapter: AdapterOpt = None, key: KeyOpt = None, kind: KindOpt = None,
                 limit: Annotated[int, typer.Option("--limit", min=1, help="Most traces shown.")] = 50) -> None:
    """List traces, newest first."""
    rows, total = TRACES.page(store(), model=model, adapter=adapter, caller=key, kind=kind, limit=limit)
    table = Table("created", "kind", "model", "key", "ms", "tokens", "finish", "prompt", "response",
                  title=f"{len(rows)} of {total} traces")
    table.add_column("id", no_wrap=True)
    for r in rows:
        last = r.prompt[-1]["content"] if r.prompt else ""
        tokens = f"{r.prompt_tokens}+{r.completion_tokens}" if r.prompt_tokens is not None else "-"
        table.add_row(f"{r.created_at:%Y-%m-%d %H:%M:%S}", r.kind, escape(r.model), escape(r.caller or "(local)"),
                      f"{r.latency_ms:.0f}", tokens, r.finish_reason or "-", escape(_cut(last)),
                      escape(_cut(r.response)), r.id)
    console.print(table)


@app.command("show")
def show(trace_id: Annotated[str, typer.Argument(help="The trace's id (tunelab traces list).")]) -> None:
    """Print one trace as JSON."""
    row = TRACES.by_key(store(), trace_id)
    if row is None:
        console_err.print(f"[bold red]error:[/] no trace '{escape(trace_id)}' (tunelab traces list shows them)",
                          soft_wrap=True)
        raise typer.Exit(2)
    typer.echo(json.dumps(trace_dict(row), indent=2, ensure_ascii=False))


@app.command("export")
def export(out: Annotated[Path, typer.Argument(help="The JSONL file to write (a messages dataset).")],
           model: ModelOpt = None, adapter: AdapterOpt = None, key: KeyOpt = None, kind: KindOpt = None) -> None:
    """Write traces as a chat dataset, oldest first: {"messages": [...prompt..., the response]} a line."""
    rows, _ = TRACES.page(store(), model=model, adapter=adapter, caller=key, kind=kind, limit=None)
    lines = [json.dumps(trace_record(r.prompt, r.response), ensure_ascii=False) + "\n" for r in reversed(rows)]
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.writelines(lines)
    os.replace(tmp, out)  # an earlier export under that name stays whole until this one is
    console_err.print(f"wrote {len(lines)} traces to {escape(str(out))} (tunelab data validate reads it)",
                      soft_wrap=True)
