"""Cross-encoder rerankers: any sentence-transformers `CrossEncoder` the user names, by folder or
by a name in the local Hugging Face cache. None ships in a package, so there is no default.

`cross_encoder(name_or_folder)` returns a `CrossEncoderModel` whose `.score(query, passages)` gives
one relevance score per passage (higher = more relevant; only the order is meaningful)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.models.errors import ModelSourceError
from tunelab.models.progress import hf_bars_off


@dataclass
class CrossEncoderModel:
    name: str
    model: Any  # sentence_transformers.CrossEncoder
    batch_size: int = 32

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        """[len(passages)] float32 scores of (query, passage) pairs: the model's one output (a logit
        or, with its activation, a probability), or for a model with several labels the softmax
        probability of the last one (label order [irrelevant, relevant])."""
        if len(passages) == 0:
            return np.zeros(0, dtype=np.float32)
        scores = np.asarray(self.model.predict([(query, p) for p in passages], batch_size=self.batch_size,
                                               show_progress_bar=False, convert_to_numpy=True), dtype=np.float32)
        if scores.ndim == 1:
            return scores
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))  # [n, labels], softmax without overflow
        return (shifted[:, -1] / shifted.sum(axis=1)).astype(np.float32)


def cross_encoder(name_or_folder: str | Path, *, device: str = "cpu", offline: bool = True,
                  max_length: int = 512) -> CrossEncoderModel:
    """Load a cross-encoder from a folder, or by hub name from the local cache (or the hub when
    `offline` is False)."""
    from sentence_transformers import CrossEncoder  # lazy: sentence-transformers is slow to import


    raw = str(name_or_folder)
    path = Path(raw).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelSourceError(f"Cross-encoder folder {path} has no config.json.")
        source, name, local_only = str(path.resolve()), str(path.resolve()), True
    else:
        source, name, local_only = raw, raw, offline
    try:
        with hf_bars_off():
            try:
                model = CrossEncoder(source, device=device, local_files_only=True, max_length=max_length)
            except OSError:
                if local_only:
                    raise
                model = CrossEncoder(source, device=device, max_length=max_length)
    except OSError as exc:
        raise ModelSourceError(
            f"Could not load the cross-encoder '{raw}': it is neither a model folder nor in the local Hugging Face "
            f"cache{' (hub access is off)' if local_only else ''}. Pass the folder of a sentence-transformers "
            f"CrossEncoder (a sequence-classification model with its tokenizer)."
        ) from exc
    return CrossEncoderModel(name=name, model=model)
