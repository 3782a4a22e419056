"""`tunelab keys create | list | revoke`: API keys for `tunelab serve`. Once one active key exists,
every /v1 route needs `Authorization: Bearer <key>`; a key's scopes (admin, train, infer) say
which routes it may call, and --rpm/--tpm limit how fast."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tunelab.cli.common import console, console_err, store
from tunelab.cli.errors import user_errors

app = typer.Typer(help="API keys for the server: create (shown once), list, revoke.", no_args_is_help=True)


def _keys():
    from tunelab.serve.auth import ApiKeys  # lazy: fastapi is slow to import

    return ApiKeys(store())


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A name for the key (who or what uses it).")],
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="What the key may call, repeatable: admin (keys, upstreams, every job), train (datasets, "
                        "jobs), infer (generation, tasks, embeddings). Default: infer and train.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Same as --scope admin: manages keys and upstreams, sees "
                                                        "and acts on every job, passes every scope.")] = False,
    rpm: Annotated[int | None, typer.Option("--rpm", help="Requests a minute (default: the server's; 0: no limit).")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", help="Tokens a minute (default: the server's; 0: no limit).")] = None,
) -> None:
    """Create a key and print its secret; it is shown only this once (only a hash is stored)."""
    with user_errors():
        keys = _keys()
        secret = keys.create(name, admin=admin, scopes=scope, rpm=rpm, tpm=tpm)
        made = next(k for k in keys.list() if k.name == name and k.active)
    what = "admin key" if made.admin else "key"
    console_err.print(f"Created {what} [bold]{escape(name)}[/] (scopes: {', '.join(made.scopes)}). "
                      "Keep the secret now: it is not shown again.")
    typer.echo(secret)


@app.command("list")
def list_keys() -> None:
    """List keys: name, first characters, scopes, limits, created, last used, revoked."""
    table = Table()
    for col in ("name", "prefix", "scopes", "rpm", "tpm", "created", "last used", "status"):
        table.add_column(col, no_wrap=True)
    fmt = lambda dt: dt.strftime("%Y-%m-%d %H:%M") if dt else ""  # noqa: E731
    for k in _keys().list():
        status = "active" if k.active else f"revoked {fmt(k.revoked_at)}"
        limit = lambda v: "default" if v is None else (str(v) if v else "none")  # noqa: E731
        table.add_row(escape(k.name), k.prefix + "...", ",".join(k.scopes), limit(k.rpm), limit(k.tpm),
                      fmt(k.created_at), fmt(k.last_used_at), status)
    console.print(table)


@app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="Name of the key to revoke.")]) -> None:
    """Revoke a key: requests with it are refused within a second."""
    with user_errors():
        _keys().revoke(name)
    console.print(f"Revoked {escape(name)}")
