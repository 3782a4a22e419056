"""Encoder text classifiers: the packaged all-MiniLM-L6-v2 (or another BERT-style folder) with a
classification head on the pooled output.

`load_encoder_classifier(folder, labels)` gives a fresh head for `labels` (to train); with no
labels it loads a trained classifier folder as saved (labels from its config). `predict(texts)`
returns each text's label and softmax scores.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tunelab.models.errors import ModelSourceError
from tunelab.models.packaged import minilm_dir
from tunelab.models.progress import hf_bars_off


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float  # softmax probability of `label`
    scores: dict[str, float]  # every label's probability


@dataclass
class EncoderClassifier:
    model: Any  # a transformers *ForSequenceClassification
    tokenizer: Any
    device: torch.device

    @property
    def labels(self) -> list[str]:
        """Label names in class-id order."""
        id2label = self.model.config.id2label
        return [id2label[i] for i in range(len(id2label))]

    def predict(self, texts: Sequence[str], *, batch_size: int = 32, max_length: int = 256) -> list[Prediction]:
        """The most probable label of each text, with its probability and every label's."""
        labels, out = self.labels, []
        was_training = self.model.training
        self.model.eval()
        try:
            for start in range(0, len(texts), batch_size):
                enc = self.tokenizer(list(texts[start:start + batch_size]), padding=True, truncation=True,
                                     max_length=max_length, return_tensors="pt").to(self.device)
                with torch.inference_mode():
                    probs = self.model(**enc).logits.float().softmax(-1).cpu()  # [batch, labels]
                for row in probs:
                    best = int(row.argmax())
                    out.append(Prediction(labels[best], float(row[best]),
                                          {name: float(p) for name, p in zip(labels, row)}))
        finally:
            self.model.train(was_training)
        return out


@contextmanager
def _quiet_load() -> Iterator[None]:
    """A fresh head is expected to be missing from the checkpoint: no load report about it."""
    from transformers.utils import logging as hf_logging  # lazy: transformers is slow to import

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with hf_bars_off():
            yield
    finally:
        hf_logging.set_verbosity(level)


def check_labels(labels: Sequence[str]) -> list[str]:
    labels = [str(x) for x in labels]
    if len(labels) < 2:
        raise ValueError(f"A classifier needs at least 2 labels, got {len(labels)}: {labels}.")
    if len(set(labels)) != len(labels):
        raise ValueError(f"Labels must be distinct: {labels}.")
    return labels


def load_encoder_classifier(folder: str | Path, labels: Sequence[str] | None = None, *,
                            device: str | torch.device = "cpu") -> EncoderClassifier:
    """Load the encoder in `folder` with a sequence-classification head, in eval mode on `device`.

    With `labels`, the head has one output per label (class id = position in `labels`) and is
    initialised afresh (from torch's RNG: seed first for a reproducible head) unless the folder
    already holds a head of that size. Without, the folder must be a trained classifier."""
    from transformers import (  # lazy: transformers is slow to import
        AutoConfig,
        AutoModelForSequenceClassification,
        AutoTokenizer,
    )

    path = Path(folder).expanduser()
    if not (path / "config.json").is_file():
        what = "does not exist" if not path.exists() else "has no config.json"
        raise ModelSourceError(f"Encoder folder {path} {what}.")
    kwargs: dict[str, Any] = {}
    if labels is not None:
        names = check_labels(labels)
        kwargs = {"num_labels": len(names), "id2label": dict(enumerate(names)),
                  "label2id": {n: i for i, n in enumerate(names)}, "ignore_mismatched_sizes": True}
    else:
        config = AutoConfig.from_pretrained(path)
        if not getattr(config, "architectures", None) or not any(
                a.endswith("ForSequenceClassification") for a in config.architectures):
            raise ModelSourceError(f"{path} holds no trained classifier (its architectures are "
                                   f"{getattr(config, 'architectures', None)}); give the labels to add a head.")
    try:
        with _quiet_load():
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForSequenceClassification.from_pretrained(path, **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelSourceError(f"Could not load an encoder classifier from {path}: {exc}") from exc
    device = torch.device(device)
    model.to(device).eval()
    return EncoderClassifier(model=model, tokenizer=tokenizer, device=device)


def resolve_encoder(name: str) -> Path:
    """The folder of encoder `name`: 'minilm' is the packaged all-MiniLM-L6-v2; anything else a folder."""
    if name == "minilm":

        return minilm_dir()
    path = Path(name).expanduser()
    if not (path / "config.json").is_file():
        what = "does not exist" if not path.exists() else "has no config.json"
        raise ModelSourceError(f"Encoder '{name}' is neither 'minilm' (the packaged all-MiniLM-L6-v2) nor a model "
                               f"folder: {path} {what}.")
    return path
