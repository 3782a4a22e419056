"""The batching engine on an int8 base model with LoRA adapters: a mixed batch (base, adapter a,
adapter b) gives every request exactly the tokens it gets alone on an int8 copy, as in fp32: each
row of a batch is quantized on its own (tunelab.models.int8)."""

from __future__ import annotations

import asyncio

import pytest
from engine_helpers import PROMPTS, collect, make_lora, reference, request, with_adapter

from tunelab.engine.batching import BatchingEngine
from tunelab.engine.sampling import SamplingParams
from tunelab.models.catalogue import Catalogue
from tunelab.models.int8 import is_int8
from tunelab.models.loader import load_model


@pytest.fixture
def load_tiny(settings, store, tiny_model_dir):
    Catalogue(store).add("tiny", str(tiny_model_dir))
    return lambda **kw: load_model("tiny", settings, store=store, **kw)


def test_mixed_adapter_batch_on_int8_matches_each_request_alone(load_tiny, tiny_model_dir, tmp_path):
    adapters = {n: str(make_lora(tiny_model_dir, tmp_path / n, seed=s)) for n, s in (("a", 1), ("b", 2))}
    greedy = SamplingParams(max_tokens=16, temperature=0)
    jobs = [(p, a) for p in PROMPTS for a in (None, "a", "b")]
    refs = {a: with_adapter(load_tiny(quantization="int8"), adapters.get(a)) for a in (None, "a", "b")}
    want = [reference(refs[a], p, greedy).token_ids for p, a in jobs]
    for i in range(len(PROMPTS)):  # the adapters really change the output, or this test shows nothing
        assert len({tuple(w) for w in want[3 * i:3 * i + 3]}) == 3

    async def go():
        engine = BatchingEngine(load_tiny(quantization="int8"), adapter_paths=adapters.__getitem__,
                                max_batch_size=len(jobs))
        await engine.start()
        try:
            tok = engine.loaded.tokenizer
            out = await asyncio.gather(*[collect(engine.generate(request(tok, f"r{i}", p, greedy, adapter=a)))
                                         for i, (p, a) in enumerate(jobs)])
        finally:
            await engine.stop()
        return engine, out

    engine, out = asyncio.run(asyncio.wait_for(go(), timeout=120))
    assert is_int8(engine.loaded.model)
    assert engine.peak_adapter_mix == 3 and engine.peak_running == len(jobs)  # one forward pass held all
    assert [o["ids"] for o in out] == want
