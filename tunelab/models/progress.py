"""Progress display while transformers loads weights: its own bars off, ours (`tunelab.progress`) on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tunelab.progress import Progress


@contextmanager
def hf_bars_off() -> Iterator[None]:
    """Silence transformers' tqdm bars ("Loading weights") for the duration of the block."""
    from transformers.utils import logging as hf_logging  # lazy: transformers is slow to import

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


@contextmanager
def gguf_tensors_into(progress: Progress) -> Iterator[None]:
    """Route the per-tensor loop of transformers' GGUF reader into `progress`.

    transformers iterates `tqdm(reader.tensors, ...)` while dequantizing; we swap that module's
    `tqdm` for a generator that advances `progress`, so the user sees one bar with real counts.
    """
    from transformers import modeling_gguf_pytorch_utils as gguf_utils  # lazy: transformers is slow to import

    original = gguf_utils.tqdm

    def tracked(iterable, desc=None, **_kw):
        items = list(iterable)
        progress.update(0, total=len(items))
        for item in items:
            yield item
            progress.advance()

    gguf_utils.tqdm = tracked
    try:
        yield
    finally:
        gguf_utils.tqdm = original
