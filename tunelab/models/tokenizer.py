"""A catalogue model's tokenizer alone (no weights), e.g. to count a dataset's tokens."""

from __future__ import annotations

from collections.abc import Callable

from tunelab.models.catalogue import Catalogue
from tunelab.models.errors import ModelSourceError
from tunelab.models.loader import local_path
from tunelab.models.progress import hf_bars_off
from tunelab.settings import Settings
from tunelab.store import Store


def load_tokenizer(name: str, settings: Settings, *, store: Store | None = None):
    """The tokenizer of catalogue model `name` (a GGUF model is converted first, once)."""
    from transformers import AutoTokenizer  # lazy: transformers is slow to import

    spec = Catalogue(store or Store(settings)).get(name)
    path = local_path(spec, settings)
    try:
        with hf_bars_off():
            return AutoTokenizer.from_pretrained(path)
    except OSError as exc:
        raise ModelSourceError(f"Could not load the tokenizer of model '{name}' from {path}: {exc}") from exc


def token_counter(tokenizer) -> Callable[[str], list[int]]:
    """``text -> token ids`` without special tokens: the shape `tunelab.data.dataset_stats` takes."""
    return lambda text: tokenizer.encode(text, add_special_tokens=False)
