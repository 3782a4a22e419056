"""Errors a user can act on, printed as one red line without a traceback, exit status 2."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import typer
from rich.markup import escape

from tunelab.cli.common import console_err
from tunelab.models.errors import ModelError


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn library errors meant for the user (ModelError, ValueError and its kin: DatasetError,
    AdapterError) into ``error: ...`` on stderr and exit status 2."""
    try:
        yield
    except (ModelError, ValueError) as exc:
        console_err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
