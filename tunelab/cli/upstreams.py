"""`tunelab upstreams add | list | rm | load-adapter`: remote OpenAI-compatible servers whose models
`tunelab serve` lists and forwards to, as NAME/model."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tunelab.adapters import AdapterRegistry
from tunelab.cli.common import console, settings, store
from tunelab.cli.errors import user_errors
from tunelab.upstreams import UpstreamRegistry
from tunelab.upstreams.vllm import push_adapter

app = typer.Typer(help="Remote OpenAI-compatible servers (vLLM, another TuneLab, a hosted API) served as NAME/model.",
                  no_args_is_help=True)


class UpstreamKind(StrEnum):
    openai = "openai"
    vllm = "vllm"


def _registry():

    return UpstreamRegistry(store())


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Name; its models are served as NAME/model.")],
    base_url: Annotated[str, typer.Argument(help="Base URL as an OpenAI client takes it, e.g. http://host:8000/v1.")],
    api_key: Annotated[str | None, typer.Option(help="API key the upstream wants (stored in the TuneLab database as given).")] = None,
    models: Annotated[str | None, typer.Option(help="Comma-separated model ids; default: ask the upstream's /models.")] = None,
    kind: Annotated[UpstreamKind, typer.Option(help="vllm: adapters can be loaded into it with `upstreams load-adapter`.")] = UpstreamKind.openai,
) -> None:
    """Add an upstream."""
    with user_errors():
        info = _registry().add(name, base_url, api_key=api_key, models=(models or "").split(","), kind=kind.value)
    shown = ", ".join(info.models) if info.models else "asked from its /models"
    console.print(f"Added upstream [bold]{escape(info.name)}[/] ({info.kind}, {escape(info.base_url)}; models: {escape(shown)})")


@app.command("list")
def list_upstreams() -> None:
    """List upstreams."""
    table = Table()
    for col in ("name", "kind", "base URL", "API key", "models"):
        table.add_column(col, no_wrap=col != "models")
    for u in _registry().list():
        table.add_row(escape(u.name), u.kind, escape(u.base_url), u.masked_key,
                      escape(", ".join(u.models)) if u.models else "(from its /models)")
    console.print(table)


@app.command("rm")
def rm(name: Annotated[str, typer.Argument(help="Upstream name.")]) -> None:
    """Remove an upstream."""
    with user_errors():
        _registry().remove(name)
    console.print(f"Removed upstream {escape(name)}")


@app.command("load-adapter")
def load_adapter(
    upstream: Annotated[str, typer.Argument(help="A vLLM upstream.")],
    adapter: Annotated[str, typer.Argument(help="A registered LoRA adapter.")],
    path_on_server: Annotated[str | None, typer.Option(help="The adapter's folder as the vLLM machine sees it; default: its path here.")] = None,
) -> None:
    """Load a registered adapter into a vLLM upstream (POST /v1/load_lora_adapter)."""

    with user_errors():
        info = AdapterRegistry(store(), settings()).get(adapter)
        model_id = push_adapter(_registry().get(upstream), info, path_on_server=path_on_server,
                                timeout_s=settings().upstream_timeout_s)
    console.print(f"Loaded {escape(adapter)} into {escape(upstream)}; request it as model [bold]{escape(model_id)}[/]")
