"""Adapter errors a user can act on. They are ValueErrors, so the CLI prints them without a traceback."""

from __future__ import annotations


class AdapterError(ValueError):
    """An adapter that cannot be registered, found, merged or exported; the message says why."""


class UnknownAdapterError(AdapterError, KeyError):
    def __init__(self, name: str, known: list[str]):
        self.name, self.known = name, known
        super().__init__(name)

    def __str__(self) -> str:
        listing = ", ".join(self.known) if self.known else "(none)"
        return f"Unknown adapter '{self.name}'. Known adapters: {listing}."
