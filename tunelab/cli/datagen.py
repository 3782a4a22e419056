"""`tunelab data generate` and `tunelab data curate`: thin wrappers over `tunelab.datagen` that parse
the options into its typed configs, show progress, and print what was made or removed and why."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from tunelab.cli.common import console, console_err, settings, store
from tunelab.cli.errors import print_error, user_errors
from tunelab.cli.jobs import submit_detached
from tunelab.data.quality import Rules
from tunelab.datagen.config import GenerateConfig
from tunelab.datagen.curate import CurateConfig, curate_dataset
from tunelab.datagen.errors import GenerationStopped
from tunelab.datagen.generate import generate_dataset


def _g(name: str) -> str:
    return GenerateConfig.model_fields[name].description or ""


def _c(name: str) -> str:
    return (CurateConfig.model_fields.get(name) or Rules.model_fields[name]).description or ""


def _gd(name: str):
    return GenerateConfig.model_fields[name].default


def _cd(name: str):
    return (CurateConfig.model_fields.get(name) or Rules.model_fields[name]).default


def _config(schema, **values):
    """The typed config, or a ValueError naming the option that is wrong."""
    try:
        return schema(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = "--" + ".".join(str(x) for x in err["loc"]).replace("_", "-") if err["loc"] else "options"
        raise ValueError(f"{where}: {err['msg'].removeprefix('Value error, ')}") from None


def generate(
    sources: Annotated[list[str], typer.Option("--from", "-s", help=_g("sources"))],
    kind: Annotated[str, typer.Option("--kind", "-k", help=_g("kind"))],
    n: Annotated[int, typer.Option("--n", help=_g("n"))],
    name: Annotated[str, typer.Option("--name", help=_g("name"))],
    model: Annotated[str | None, typer.Option("--model", "-m", help=_g("model"))] = None,
    rejected: Annotated[str, typer.Option("--rejected", help=_g("rejected"))] = _gd("rejected"),
    temperature: Annotated[float, typer.Option("--temperature", help=_g("temperature"))] = _gd("temperature"),
    rejected_temperature: Annotated[float, typer.Option("--rejected-temperature", help=_g("rejected_temperature"))] = _gd("rejected_temperature"),
    max_tokens: Annotated[int, typer.Option("--max-tokens", help=_g("max_tokens"))] = _gd("max_tokens"),
    question_tokens: Annotated[int, typer.Option("--question-tokens", help=_g("question_tokens"))] = _gd("question_tokens"),
    chunk_size: Annotated[int, typer.Option("--chunk-size", help=_g("chunk_size"))] = _gd("chunk_size"),
    seed: Annotated[int, typer.Option("--seed", help=_g("seed"))] = _gd("seed"),
    concurrency: Annotated[int, typer.Option("--concurrency", help=_g("concurrency"))] = _gd("concurrency"),
    mapping: Annotated[str | None, typer.Option("--mapping", help=_g("mapping"))] = None,
    restart: Annotated[bool, typer.Option("--restart", help=_g("restart"))] = False,
    detach: Annotated[bool, typer.Option("--detach", help="Queue it as a background job instead (prints the job id).")] = False,
) -> None:
    """Generate instruction, preference or QA records from documents with a model, and register them.

    Every record keeps the chunk it came from (source and character offsets) in
    <home>/datagen/NAME.jsonl. Output is constrained JSON, written as it is made: a stopped run
    continues when the same command runs again.
    """
    with user_errors():
        given = [str(Path(s).expanduser().resolve()) if Path(s).expanduser().exists() else s for s in sources]
        cfg = _config(GenerateConfig, sources=given, kind=kind, n=n, name=name, model=model, rejected=rejected,
                      temperature=temperature, rejected_temperature=rejected_temperature, max_tokens=max_tokens,
                      question_tokens=question_tokens, chunk_size=chunk_size, seed=seed, concurrency=concurrency,
                      mapping=mapping, restart=restart)
        if detach:
            submit_detached("generate_data", cfg.model_dump(mode="json"))
            return
        try:
            out = asyncio.run(generate_dataset(cfg, settings(), store(), console=console_err))
        except GenerationStopped as exc:
            print_error(exc)
            raise typer.Exit(1) from None
    for f in out.failures:
        console_err.print(f"[yellow]skipped[/] {escape(f.source)}: {escape(f.reason)}", soft_wrap=True)
    d = out.dataset
    earlier = d.num_records - min(out.made_now, d.num_records)
    continued = f", {earlier} from the earlier run" if earlier else ""
    console.print(f"Generated [bold]{escape(d.name)}[/]: {d.num_records} {cfg.kind} records{continued}, "
                  f"sha256 {d.content_hash[:12]}", soft_wrap=True)
    if out.skipped:
        console.print("  items that gave no record: " + escape(", ".join(f"{k} ({v})" for k, v in out.skipped.items())),
                      soft_wrap=True)
    console.print(f"  each record with its chunk: {escape(out.records_file)}", soft_wrap=True)


def curate(
    input: Annotated[str, typer.Argument(help="A registered dataset's name, or a dataset file.")],
    name: Annotated[str, typer.Option("--name", help="Name to register the curated dataset under.")],
    against: Annotated[list[str] | None, typer.Option("--against", "-a", help="Evaluation texts to decontaminate against: TASK:SPLIT of the packaged sample (qa:test, classify:test, extract:test, retrieval:test), FILE or FILE:SPLIT, or a dataset name. Repeatable.")] = None,
    near_threshold: Annotated[float, typer.Option("--near-threshold", help=_c("near_threshold"))] = _cd("near_threshold"),
    ngram: Annotated[int, typer.Option("--ngram", help=_c("ngram"))] = _cd("ngram"),
    min_chars: Annotated[int, typer.Option("--min-chars", help=_c("min_chars"))] = _cd("min_chars"),
    max_chars: Annotated[int, typer.Option("--max-chars", help=_c("max_chars"))] = _cd("max_chars"),
    language: Annotated[bool, typer.Option("--language/--no-language", help="Remove answers in another language than their question.")] = True,
    judge: Annotated[str | None, typer.Option("--judge", help=_c("judge"))] = None,
    rubric: Annotated[str | None, typer.Option("--rubric", help=_c("rubric"))] = None,
    threshold: Annotated[float, typer.Option("--threshold", help=_c("threshold"))] = _cd("threshold"),
    concurrency: Annotated[int, typer.Option("--concurrency", help="Records judged at once.")] = 8,
) -> None:
    """Remove duplicates, near duplicates, evaluation leaks and poor records; register the rest.

    Prints how many records each step removed and why; the removed ones are kept with their step
    and reason in <home>/datasets/NAME.removed.jsonl.
    """
    with user_errors():
        rules = _config(Rules, min_chars=min_chars, max_chars=max_chars, language=language)
        cfg = _config(CurateConfig, input=input, name=name, against=against or [], near_threshold=near_threshold,
                      ngram=ngram, rules=rules, judge=judge, rubric=rubric, threshold=threshold,
                      concurrency=concurrency)
        out = curate_dataset(cfg, settings(), store(), console=console_err)
    table = Table()
    for col in ("step", "removed", "why"):
        table.add_column(col, overflow="fold")
    for s in out.steps:
        table.add_row(escape(s.step), str(s.removed), escape(", ".join(f"{k} ({v})" for k, v in s.reasons.items())))
    console.print(table)
    d = out.dataset
    console.print(f"Curated [bold]{escape(d.name)}[/]: kept {d.num_records} of {out.input_records} records, "
                  f"sha256 {d.content_hash[:12]}", soft_wrap=True)
    if out.unjudged:
        console.print(f"  [yellow]{out.unjudged} records kept unjudged[/] (the judge's verdict was unusable)")
    console.print(f"  removed records, with step and reason: {escape(out.removed_file)}", soft_wrap=True)
