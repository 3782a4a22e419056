"""A trained encoder classifier (the MiniLM head TuneLab trains, or any BERT-style classifier
folder) as a task model: it classifies, it does not write. `classify` in the e-commerce pack
sends it the texts directly (no candidate retrieval: its labels are its candidates), and its
labels map to taxonomy categories when they are category ids or full paths.
"""

from __future__ import annotations

from collections.abc import Sequence

from tunelab.models.encoders import EncoderClassifier
from tunelab.models.torch_threads import run_torch
from tunelab.tasks.model import TaskModelError


class EncoderTaskModel:
    def __init__(self, classifier: EncoderClassifier, *, name: str) -> None:
        self.classifier, self.name = classifier, name

    async def complete(self, messages: list[dict], *, max_tokens: int = 256, constraint=None) -> str:
        raise TaskModelError(f"'{self.name}' is an encoder classifier: it classifies (/v1/tasks/classify, "
                             "--task classify), it does not write text.")

    async def score(self, messages: list[dict], options: list[str], *, mean: bool = False) -> list[float] | None:
        return None

    async def rank_labels(self, texts: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
        """Each text's `k` most probable labels with their probabilities, best first (off the loop:
        the forward pass is CPU work)."""
        predictions = await run_torch(self.classifier.predict, list(texts))
        return [sorted(p.scores.items(), key=lambda kv: -kv[1])[:k] for p in predictions]
