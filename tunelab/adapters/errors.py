"""Adapter errors a user can act on. They are ValueErrors, so the CLI prints them without a traceback."""

from __future__ import annotations

from tunelab.store.errors import UnknownNameError


class AdapterError(ValueError):
    """An adapter that cannot be registered, found, merged or exported; the message says why."""


class UnknownAdapterError(AdapterError, UnknownNameError):
    kind = "adapter"
