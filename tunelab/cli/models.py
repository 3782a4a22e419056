"""`tunelab models list | add | show | rm`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tunelab.cli.common import console, settings, store
from tunelab.models.catalogue import Catalogue

app = typer.Typer(help="The model catalogue: built-in models and the ones you register.", no_args_is_help=True)


@app.command("list")
def list_models() -> None:
    """List every model in the catalogue."""
    table = Table()
    table.add_column("name", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("source", overflow="fold")
    table.add_column("chat template")
    table.add_column("description", ratio=1)
    for m in Catalogue(store()).list():
        tpl = "model's own" if m.chat_template is None else (m.chat_template if len(m.chat_template) < 20 else "custom")
        table.add_row(m.name + (" (built-in)" if m.builtin else ""), m.kind, m.source, tpl, m.description)
    console.print(table)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Name to register the model under.")],
    source: Annotated[str, typer.Argument(help="A Hugging Face model folder, a .gguf file, or a hub id 'org/name'.")],
    chat_template: Annotated[str | None, typer.Option(help="Built-in template (chatml, zephyr, llama3) or a Jinja file; default: the model's own.")] = None,
    description: Annotated[str, typer.Option(help="Free text shown in `models list`.")] = "",
) -> None:
    """Register a model under NAME."""
    spec = Catalogue(store()).add(name, source, chat_template=chat_template, description=description)
    console.print(f"Added [bold]{spec.name}[/] ({spec.kind}: {spec.source})")


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="Model name.")]) -> None:
    """Show one model's entry, and where its converted files live."""
    spec = Catalogue(store()).get(name)
    console.print(f"[bold]{spec.name}[/]{' (built-in)' if spec.builtin else ''}")
    console.print(f"  kind:          {spec.kind}")
    console.print(f"  source:        {spec.source}")
    if spec.kind in ("packaged", "gguf"):
        folder = settings().models_dir / spec.name
        state = "converted" if folder.is_dir() else "not converted yet (converts on first use)"
        console.print(f"  folder:        {folder} ({state})")
    tpl = spec.chat_template
    console.print(f"  chat template: {'model’s own' if tpl is None else tpl}")
    if spec.description:
        console.print(f"  description:   {spec.description}")


@app.command("rm")
def rm(name: Annotated[str, typer.Argument(help="Model name.")]) -> None:
    """Remove a registered model from the catalogue (its files are left in place)."""
    Catalogue(store()).remove(name)
    console.print(f"Removed {name}")
