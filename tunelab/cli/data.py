"""`tunelab data validate FILE`: load a dataset the way training will, and say what is in it or
exactly which file, line and field is wrong. `tunelab data add | list | show | rm`: the registered
datasets that training refers to by name. `generate` and `curate` live in `cli/datagen.py`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tunelab.cli import datagen
from tunelab.cli.common import console, settings, store
from tunelab.cli.errors import print_error, user_errors
from tunelab.data import FORMATS, DatasetError, dataset_hash, dataset_stats, load_dataset, load_llamafactory
from tunelab.data.llamafactory import INFO_FILE, read_dataset_info
from tunelab.data.registry import DatasetRegistry
from tunelab.models.tokenizer import load_tokenizer, token_counter

app = typer.Typer(no_args_is_help=True)
app.command("generate")(datagen.generate)
app.command("curate")(datagen.curate)


@app.callback()
def data() -> None:
    """Datasets: check a file before training on it, and register it under a name."""


@app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="A .json/.jsonl/.csv/.tsv/.parquet file, or a LLaMA-Factory data folder or its dataset_info.json (every dataset in it, or the one named with --dataset).")],
    format: Annotated[str | None, typer.Option("--format", "-f", help=f"One of: {', '.join(FORMATS)}. Default: detected from the first record.")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Leave invalid records out and report them, instead of stopping at the first.")] = False,
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Dataset name in FILE/dataset_info.json (LLaMA-Factory folders).")] = None,
) -> None:
    """Load FILE as training would and describe it, or name the first invalid record.

    Prints the format, record count, lengths and content hash; on an invalid record prints its
    file, line (or record index), field and reason, and exits with status 2.
    """
    folder = file.parent if file.name == INFO_FILE else file
    try:
        if file.is_dir() or file.name == INFO_FILE or dataset is not None:
            if format is not None:
                raise ValueError("--format does not apply to a LLaMA-Factory folder: dataset_info.json says the format")
            if dataset is None:
                _validate_every_entry(folder, skip_invalid)
                return
            loaded = load_llamafactory(folder, dataset, skip_invalid=skip_invalid)
        else:
            loaded = load_dataset(file, format, skip_invalid=skip_invalid)
    except (DatasetError, ValueError) as exc:
        print_error(exc)
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


def _validate_every_entry(folder: Path, skip_invalid: bool) -> None:
    """One line per dataset of a LLaMA-Factory folder's dataset_info.json; exit 2 if any is invalid."""
    entries = read_dataset_info(folder)
    if not entries:
        raise ValueError(f"{folder / INFO_FILE} lists no datasets")
    failed = 0
    for name in entries:
        try:
            loaded = load_llamafactory(folder, name, skip_invalid=skip_invalid)
        except DatasetError as exc:
            failed += 1
            console.print(f"[red]invalid[/] {escape(name)}: {escape(str(exc))}", soft_wrap=True)
            continue
        skipped = f", {loaded.report.skipped} skipped" if loaded.report.skipped else ""
        console.print(f"[green]ok[/]      {escape(name)}: {len(loaded)} records, format {loaded.format}{skipped} "
                      f"({escape(loaded.source)})", soft_wrap=True)
    console.print(f"{len(entries) - failed} of {len(entries)} datasets valid")
    if failed:
        raise typer.Exit(2)


def registry():

    return DatasetRegistry(store(), settings())


@app.command("add")
def add(
    file: Annotated[Path, typer.Argument(help="A .json/.jsonl/.csv/.tsv/.parquet file.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Name to register the dataset under.")],
    format: Annotated[str | None, typer.Option("--format", "-f", help=f"One of: {', '.join(FORMATS)}. Default: detected from the first record.")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Leave invalid records out (and report them) instead of refusing the file.")] = False,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Count lengths in this catalogue model's tokens (default: characters).")] = None,
) -> None:
    """Validate FILE, keep a normalised copy under the TuneLab home and register it as --name."""
    with user_errors():
        tokenize = None
        if model is not None:

            tokenize = token_counter(load_tokenizer(model, settings(), store=store()))
        info = registry().add(file, name, format, skip_invalid=skip_invalid, tokenizer=tokenize, tokenizer_name=model)
    console.print(f"Added [bold]{escape(info.name)}[/]: {info.num_records} records "
                  f"({info.stats.get('source_format')} from {escape(info.source)}), sha256 {info.content_hash}", soft_wrap=True)
    if info.stats.get("skipped"):
        console.print(f"  [yellow]skipped {info.stats['skipped']} invalid records[/]; the first reasons:")
        for reason in info.stats.get("skip_reasons", []):
            console.print(f"    {escape(reason)}", soft_wrap=True)


@app.command("list")
def list_datasets() -> None:
    """List registered datasets."""

    table = Table()
    for col in ("name", "records", "format", "sha256", "source"):
        table.add_column(col, no_wrap=col != "source", overflow="fold")
    for d in registry().list():
        table.add_row(d.name, str(d.num_records), d.format, d.content_hash[:12], escape(d.source))
    console.print(table)


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="Dataset name.")]) -> None:
    """Show one dataset: where its copy is, its hash, statistics and first records."""

    with user_errors():
        d = registry().get(name)
    st = d.stats
    console.print(f"[bold]{escape(d.name)}[/]: {d.num_records} records, format {d.format} "
                  f"(from {st.get('source_format')} file {escape(d.source)})", soft_wrap=True)
    console.print(f"  copy:    {escape(d.path)}", soft_wrap=True)
    console.print(f"  sha256:  {d.content_hash}")
    lineage = st.get("lineage") or {}
    if lineage.get("generated_from"):
        console.print(f"  made:    {lineage.get('kind')} records by {escape(str(lineage.get('model')))} from "
                      f"{escape(', '.join(lineage['generated_from']))} ({escape(str(lineage.get('records_file')))})",
                      soft_wrap=True)
    if lineage.get("curated_from"):
        steps = ", ".join(f"{s['step']} {s['removed']}" for s in lineage.get("steps", []) if s.get("removed"))
        console.print(f"  curated: from {escape(str(lineage['curated_from']))}, kept {lineage.get('kept')} of "
                      f"{lineage.get('input_records')} (removed: {escape(steps or 'none')})", soft_wrap=True)
    if st.get("skipped"):
        console.print(f"  skipped: {st['skipped']} invalid records when added")
    if len(st.get("kinds", {})) > 1:
        console.print("  kinds:   " + ", ".join(f"{k} {n}" for k, n in st["kinds"].items()))
    if st.get("labels"):
        labels = list(st["labels"].items())
        console.print(f"  labels:  {len(labels)}: " + escape(", ".join(f"{k} ({n})" for k, n in labels[:10])) + (", ..." if len(labels) > 10 else ""))
    if st.get("lengths"):
        s = st["lengths"]
        unit = f"tokens of {st['tokenizer']}" if st.get("tokenizer") else st.get("length_unit", "characters")
        console.print(f"  length ({escape(unit)}): min {s['min']}, mean {s['mean']:.1f}, p50 {s['p50']:.0f}, p95 {s['p95']:.0f}, max {s['max']}")
    console.print(f"  first {len(d.preview)} records:")
    for row in d.preview:
        console.print("    " + escape(json.dumps(row, ensure_ascii=False)), soft_wrap=True)


@app.command("rm")
def rm(name: Annotated[str, typer.Argument(help="Dataset name.")]) -> None:
    """Remove a dataset and its normalised copy (the file you added from is left alone)."""
    with user_errors():
        registry().remove(name)
    console.print(f"Removed {escape(name)}")
