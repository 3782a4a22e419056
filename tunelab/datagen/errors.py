"""Errors of data generation and curation. `DatagenError` is a ValueError (bad input: the CLI prints
one line, exit 2); `GenerationStopped` means the model kept failing: the run stopped, what it made is
kept, and the same command continues it."""

from __future__ import annotations


class DatagenError(ValueError):
    """Bad input to generate or curate: a source with no text, a name taken, a setting that cannot work."""


class GenerationStopped(RuntimeError):
    """The model failed after its retries; `made` records are kept in `partial`."""

    def __init__(self, message: str, *, made: int, partial: str) -> None:
        super().__init__(message)
        self.made, self.partial = made, partial
