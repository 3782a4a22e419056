"""`tunelab adapters list | show | rm | merge | export`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tunelab.adapters import (
    GGUF_QUANTS,
    MERGE_METHODS,
    AdapterRegistry,
    export_adapter,
    export_gguf,
    export_merged,
    merge_adapters,
)
from tunelab.cli.common import console, settings, store
from tunelab.cli.errors import user_errors

app = typer.Typer(help="Adapters: the ones you trained or merged, their lineage, merging and export.",
                  no_args_is_help=True)


def registry() -> AdapterRegistry:
    return AdapterRegistry(store(), settings())


@app.command("list")
def list_adapters() -> None:
    """List registered adapters."""
    table = Table()
    for col in ("name", "kind", "base model", "made from", "created"):
        table.add_column(col, no_wrap=col != "made from")
    for a in registry().list():
        origin = (f"{a.lineage.get('method')} of {', '.join(a.parents)}" if a.parents
                  else f"run {a.run_id}" if a.run_id else "")
        created = a.created_at.strftime("%Y-%m-%d %H:%M") if a.created_at else ""
        table.add_row(a.name, a.kind, a.base_model, escape(origin), created)
    console.print(table)


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="Adapter name.")]) -> None:
    """Show one adapter: where it is, its base model, metrics and full lineage."""
    with user_errors():
        a = registry().get(name)
    console.print(f"[bold]{escape(a.name)}[/] ({a.kind})")
    console.print(f"  path:       {escape(a.path)}", soft_wrap=True)
    console.print(f"  base model: {escape(a.base_model)}" + (f" (sha256 {a.base_model_hash})" if a.base_model_hash else ""),
                  soft_wrap=True)
    if a.run_id:
        console.print(f"  run:        {escape(a.run_id)}")
    if a.wall_time_s is not None:
        console.print(f"  wall time:  {a.wall_time_s:.1f} s")
    if a.created_at:
        console.print(f"  created:    {a.created_at:%Y-%m-%d %H:%M:%S}")
    if a.metrics:
        console.print("  metrics:    " + escape(", ".join(f"{k} {v}" for k, v in a.metrics.items())))
    console.print("  lineage:")
    for line in json.dumps(a.lineage, indent=2, sort_keys=True, ensure_ascii=False).splitlines():
        console.print("    " + escape(line), soft_wrap=True)


@app.command("rm")
def rm(
    name: Annotated[str, typer.Argument(help="Adapter name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove an adapter; its files are deleted too when they are under the TuneLab home."""
    reg = registry()
    with user_errors():
        info = reg.get(name)
        if not yes:
            what = f"and delete {info.path}" if reg.owns_files(info) else f"(its files at {info.path} stay)"
            typer.confirm(f"Remove adapter '{name}' {what}?", abort=True)
        reg.remove(name)
    console.print(f"Removed {escape(name)}")


def _weights(text: str | None, n: int) -> list[float]:
    if text is None:
        return [1.0 / n] * n
    try:
        return [float(w) for w in text.split(",")]
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a comma-separated list of numbers, e.g. 0.5,0.5") from None


@app.command("merge")
def merge(
    names: Annotated[list[str], typer.Argument(help="The LoRA adapters to merge (same base model).")],
    name: Annotated[str, typer.Option("--name", "-n", help="Name of the new adapter.")],
    weights: Annotated[str | None, typer.Option(help="Comma-separated weight per adapter, e.g. 0.7,0.3. Default: equal weights summing to 1.")] = None,
    method: Annotated[str, typer.Option(help=f"One of: {', '.join(MERGE_METHODS)}. cat is exact; linear averages A and B separately (an approximation).")] = "linear",
    density: Annotated[float | None, typer.Option(help="Fraction of weights kept by ties / dare_* (0 < d <= 1).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed for dare_* pruning.")] = 0,
) -> None:
    """Merge LoRA adapters NAMES... into a new adapter --name, with PEFT's weighted merge."""
    w = _weights(weights, len(names))
    with user_errors(), console.status(f"Merging {', '.join(names)} ({method})..."):
        info = merge_adapters(registry(), settings(), store(), names, w, method=method, density=density,
                              new_name=name, seed=seed)
    console.print(f"Merged {escape(', '.join(names))} with weights {w} ({method}) into [bold]{escape(info.name)}[/] "
                  f"at {escape(info.path)}", soft_wrap=True)


@app.command("export")
def export(
    name: Annotated[str, typer.Argument(help="Adapter name (with --gguf, a catalogue model name also works: the model as it is).")],
    merged: Annotated[Path | None, typer.Option("--merged", help="Write the base model with the adapter merged in (a plain HF model folder) here.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Copy the PEFT adapter folder (for PEFT or vLLM) here.")] = None,
    gguf: Annotated[Path | None, typer.Option("--gguf", help="Write the merged model as one GGUF file (llama.cpp, Ollama) here, with NAME.Modelfile beside it.")] = None,
    quant: Annotated[str | None, typer.Option("--quant", help=f"GGUF weights: {' or '.join(GGUF_QUANTS)} (default q8_0).")] = None,
) -> None:
    """Export adapter NAME: --merged DIR for a standalone model, --out DIR for the adapter alone,
    or --gguf FILE.gguf for llama.cpp and Ollama."""
    if sum(x is not None for x in (merged, out, gguf)) != 1:
        raise typer.BadParameter("give exactly one of --merged DIR, --out DIR or --gguf FILE")
    if quant is not None and gguf is None:
        raise typer.BadParameter("--quant applies to --gguf only")
    with user_errors():
        if gguf is not None:
            with console.status(f"Exporting {name} to GGUF ({quant or 'q8_0'})..."):
                done = export_gguf(registry(), settings(), store(), name, gguf, quant or "q8_0")
            console.print(f"Wrote {escape(str(done.path))} ({done.quant}, {done.size_bytes / 1e6:.1f} MB, "
                          f"{done.tensors} tensors) and {escape(done.modelfile.name)} beside it. Run it with "
                          f"llama.cpp (llama-cli -m {escape(done.path.name)}) or Ollama (ollama create NAME -f "
                          f"{escape(done.modelfile.name)}).", soft_wrap=True)
        elif merged is not None:
            with console.status(f"Merging {name} into its base model..."):
                folder = export_merged(registry(), settings(), store(), name, merged)
            console.print(f"Wrote the merged model to {escape(str(folder))} "
                          "(load it with AutoModelForCausalLM.from_pretrained, no PEFT needed)")
        else:
            folder = export_adapter(registry(), name, out)
            console.print(f"Wrote the adapter to {escape(str(folder))} (load it with PeftModel.from_pretrained "
                          "or as a vLLM LoRA module)")
