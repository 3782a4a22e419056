"""`tunelab keys create | list | revoke`: API keys for `tunelab serve`. Once one active key exists,
every /v1 route needs `Authorization: Bearer <key>`."""

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
    admin: Annotated[bool, typer.Option("--admin", help="An admin key sees and acts on every job, not only its own.")] = False,
) -> None:
    """Create a key and print its secret; it is shown only this once (only a hash is stored)."""
    with user_errors():
        secret = _keys().create(name, admin=admin)
    what = "admin key" if admin else "key"
    console_err.print(f"Created {what} [bold]{escape(name)}[/]. Keep the secret now: it is not shown again.")
    typer.echo(secret)


@app.command("list")
def list_keys() -> None:
    """List keys: name, first characters, admin or not, created, last used, revoked."""
    table = Table()
    for col in ("name", "prefix", "admin", "created", "last used", "status"):
        table.add_column(col, no_wrap=True)
    fmt = lambda dt: dt.strftime("%Y-%m-%d %H:%M") if dt else ""  # noqa: E731
    for k in _keys().list():
        status = "active" if k.active else f"revoked {fmt(k.revoked_at)}"
        table.add_row(escape(k.name), k.prefix + "...", "yes" if k.admin else "", fmt(k.created_at), fmt(k.last_used_at), status)
    console.print(table)


@app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="Name of the key to revoke.")]) -> None:
    """Revoke a key: requests with it are refused within a second."""
    with user_errors():
        _keys().revoke(name)
    console.print(f"Revoked {escape(name)}")
