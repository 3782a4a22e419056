"""Errors a user can act on, printed as one red line without a traceback, exit status 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.markup import escape

from tunelab.cli.common import console_err
from tunelab.models.errors import ModelError


def print_error(exc: BaseException) -> None:
    """One unwrapped line (paths stay copyable), markup in the message escaped."""
    console_err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn library errors meant for the user (ModelError, ValueError and its kin: DatasetError,
    AdapterError) into ``error: ...`` on stderr and exit status 2."""
    try:
        yield
    except (ModelError, ValueError) as exc:
        print_error(exc)
        raise typer.Exit(2) from None
