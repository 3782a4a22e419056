"""`tunelab data validate FILE`: load a dataset the way training will, and say what is in it or
exactly which file, line and field is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from tunelab.cli.common import console, console_err
from tunelab.data import FORMATS, DatasetError, dataset_hash, dataset_stats, load_dataset, load_llamafactory

app = typer.Typer(no_args_is_help=True)


@app.callback()
def data() -> None:
    """Datasets: check a file before training on it."""


@app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="A .json/.jsonl/.csv/.tsv/.parquet file, or a LLaMA-Factory data folder (with --dataset).")],
    format: Annotated[Optional[str], typer.Option("--format", "-f", help=f"One of: {', '.join(FORMATS)}. Default: detected from the first record.")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Leave invalid records out and report them, instead of stopping at the first.")] = False,
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="Dataset name in FILE/dataset_info.json (LLaMA-Factory folders).")] = None,
) -> None:
    """Load FILE as training would and describe it, or name the first invalid record.

    Prints the format, record count, lengths and content hash; on an invalid record prints its
    file, line (or record index), field and reason, and exits with status 2.
    """
    try:
        if file.is_dir() or dataset is not None:
            if dataset is None:
                raise ValueError(f"{file} is a folder: name the dataset in its dataset_info.json with --dataset NAME")
            if format is not None:
                raise ValueError("--format does not apply to a LLaMA-Factory folder: dataset_info.json says the format")
            loaded = load_llamafactory(file, dataset, skip_invalid=skip_invalid)
        else:
            loaded = load_dataset(file, format, skip_invalid=skip_invalid)
    except (DatasetError, ValueError) as exc:
        console_err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None

    how = "given" if format or dataset else "detected"
    console.print(f"[bold]{escape(loaded.source)}[/]: {len(loaded)} records, format {loaded.format} ({how})", soft_wrap=True)
    report = loaded.report
    if report.skipped:
        console.print(f"  [yellow]skipped {report.skipped} of {report.total} records[/]; the first reasons:")
        for reason in report.reasons:
            console.print(f"    {escape(reason)}", soft_wrap=True)
    stats = dataset_stats(loaded.records, tokenize=list)
    if len(stats.kinds) > 1:
        console.print("  kinds:   " + ", ".join(f"{k} {n}" for k, n in stats.kinds.items()))
    if stats.labels:
        console.print(f"  labels:  {len(stats.labels)}: " + escape(", ".join(f"{k} ({n})" for k, n in list(stats.labels.items())[:10])) + (", ..." if len(stats.labels) > 10 else ""))
    if stats.lengths:
        s = stats.lengths
        console.print(f"  length (characters): min {s.min}, mean {s.mean:.1f}, p50 {s.p50:.0f}, p95 {s.p95:.0f}, max {s.max}")
    console.print(f"  sha256:  {dataset_hash(loaded.records)}")
