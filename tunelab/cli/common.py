"""Helpers shared by CLI commands: settings, store and consoles, built once per invocation. The
consoles do not cut tables at 80 columns when the output is a file or a pipe (`OutputConsole`)."""

from __future__ import annotations

from functools import lru_cache

from tunelab.adapters.loading import load_model_or_adapter
from tunelab.progress import OutputConsole
from tunelab.settings import Settings
from tunelab.store import Store

console = OutputConsole(highlight=False)
console_err = OutputConsole(stderr=True, highlight=False)


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings()


@lru_cache(maxsize=1)
def store() -> Store:
    return Store(settings())


def load(name: str | None):
    """Load a catalogue model, or a registered LoRA adapter on its base model, by name (default:
    the configured default model)."""
    return load_model_or_adapter(name or settings().default_model, settings(), store())
