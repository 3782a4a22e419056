"""Adapter errors a user can act on. They are ValueErrors, so the CLI prints them without a traceback.
Defined in the store's error module (the engine, below this package, raises them too)."""

from __future__ import annotations

from tunelab.store.errors import AdapterError, UnknownAdapterError

__all__ = ["AdapterError", "UnknownAdapterError"]
