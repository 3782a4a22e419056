"""Helpers for the e-commerce task tests: a small taxonomy, a bag-of-words hashing embedder (fast,
deterministic, and texts that share words really are close), the tiny model on a real batching engine,
and two TaskModels that behave like upstreams (no scoring; constraints ignored)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from contextlib import asynccontextmanager

import numpy as np

from tunelab.engine.batching import BatchingEngine
from tunelab.tasks.ecommerce.taxonomy import Taxonomy
from tunelab.tasks.model import EngineTaskModel

SMALL_TAXONOMY_TEXT = """\
# Google_Product_Taxonomy_Version: test-1
1 - Animals & Pet Supplies
2 - Animals & Pet Supplies > Pet Supplies
3 - Animals & Pet Supplies > Pet Supplies > Dog Supplies
4 - Animals & Pet Supplies > Pet Supplies > Dog Supplies > Dog Beds
5 - Animals & Pet Supplies > Pet Supplies > Cat Supplies
6 - Apparel & Accessories
7 - Apparel & Accessories > Shoes
8 - Apparel & Accessories > Clothing
9 - Apparel & Accessories > Clothing > Shirts & Tops
10 - Home & Garden
11 - Home & Garden > Kitchen & Dining
12 - Home & Garden > Kitchen & Dining > Kitchen Tools & Utensils > Kitchen Knives
13 - Home & Garden > Kitchen & Dining > Kitchen Tools & Utensils
14 - Home & Garden > Kitchen & Dining > Food & Beverage Carriers > Water Bottles
15 - Home & Garden > Kitchen & Dining > Food & Beverage Carriers
16 - Electronics
17 - Electronics > Audio > Audio Components > Headphones & Headsets
18 - Electronics > Audio > Audio Components
19 - Electronics > Audio
"""


def small_taxonomy() -> Taxonomy:
    return Taxonomy.parse(SMALL_TAXONOMY_TEXT, source="test taxonomy")


class HashEmbedder:
    """Each lower-cased word gets a fixed random vector (seeded by its hash); a text is the unit-length
    sum of its words' vectors. Texts sharing words have a high cosine, like a real embedder's."""

    def __init__(self, dim: int = 64, name: str = "hash-bow-64") -> None:
        self.dim, self.name = dim, name
        self.calls = 0  # how many texts were embedded (the cache test counts them)

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big")
        return np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)

    def embed(self, texts) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[i] += self._word(word)
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm > 0 else self._word("<empty>") / np.linalg.norm(self._word("<empty>"))
        return out


def run(coro, timeout: float = 120):
    return asyncio.run(asyncio.wait_for(coro, timeout=timeout))


@asynccontextmanager
async def engine_model(loaded, cls=EngineTaskModel):
    """`cls` over the tiny model on a fresh BatchingEngine, stopped on exit."""
    engine = BatchingEngine(loaded, adapter_paths=str, max_batch_size=16, max_queue=256)
    await engine.start()
    try:
        yield cls(engine, loaded)
    finally:
        await engine.stop()


class NoScoreModel(EngineTaskModel):
    """A model that cannot score replies, as an OpenAI-compatible upstream (constraints still honoured,
    as vLLM does)."""

    async def score(self, messages, options, mean=False):
        return None


class IgnoresConstraintModel(NoScoreModel):
    """An upstream that ignores output constraints (plain OpenAI with guided_* fields): free text."""

    async def complete(self, messages, *, max_tokens=256, constraint=None):
        return await super().complete(messages, max_tokens=max_tokens, constraint=None)
