"""An adapter TuneLab's own trainer made (PEFT format, all linear layers) loads into the scratch model,
which then generates the tokens TuneLab's engine generates with the same adapter (greedy and seeded)."""

import asyncio
import json

import pytest
import torch

from tunelab.adapters import AdapterRegistry
from tunelab.adapters.servable import servable_adapter_paths
from tunelab.engine.sampling import SamplingParams
from tunelab.engine.sequential import SequentialEngine
from tunelab.engine.types import GenRequest
from tunelab.scratch.generate import generate_ids
from tunelab.scratch.load import adapter_folder
from tunelab.scratch.lora import load_peft_adapter, lora_layers
from tunelab.train import parse_config, run_recipe

ROWS = [{"instruction": "Classify the product", "input": t, "output": c}
        for t, c in [("Wireless earbuds", "Electronics"), ("Running shoes", "Apparel"), ("Green tea", "Food"),
                     ("Water bottle", "Kitchen")] * 4]
PROMPTS = ["Wireless earbuds with noise cancelling", "Green tea"]


@pytest.fixture
def trained(settings, store, tiny, tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in ROWS))
    cfg = parse_config({"dataset": str(data), "base_model": "tiny", "max_steps": 3, "batch_size": 4,
                        "learning_rate": 2e-2, "val_fraction": 0.25, "seed": 1, "adapter_name": "shop"})
    run_recipe(cfg, settings, store)
    return AdapterRegistry(store, settings)


def engine_tokens(tiny, registry, ids, params):
    engine = SequentialEngine(tiny, adapter_paths=servable_adapter_paths(registry, "tiny"))

    async def go():
        await engine.start()
        try:
            req = GenRequest(request_id="r", prompt_ids=ids, params=params, adapter="shop")
            return [e.token_id async for e in engine.generate(req) if e.token_id is not None]
        finally:
            await engine.stop()
    return asyncio.run(go())


def test_scratch_model_with_a_tunelab_adapter_generates_the_engines_tokens(trained, tiny, tiny_scratch):
    folder, base = adapter_folder(trained, "shop")
    assert base == "tiny"
    base_logits = tiny_scratch(torch.tensor([tiny.tokenizer(PROMPTS[0])["input_ids"]]))
    cfg = load_peft_adapter(tiny_scratch, folder)
    assert len(lora_layers(tiny_scratch)) == 7 * tiny_scratch.cfg.num_layers  # TuneLab's default: all-linear
    with torch.no_grad():
        tuned = tiny_scratch(torch.tensor([tiny.tokenizer(PROMPTS[0])["input_ids"]]))
    assert (tuned - base_logits).abs().max() > 1e-3, "the adapter should change the model"
    assert cfg["r"] == 16
    for params in (SamplingParams(max_tokens=12, temperature=0), SamplingParams(max_tokens=12, temperature=1.0, seed=4)):
        for prompt in PROMPTS:
            ids = tiny.tokenizer(prompt)["input_ids"]
            ours = list(generate_ids(tiny_scratch, ids, max_tokens=params.max_tokens, temperature=params.temperature,
                                     seed=params.seed, eos_ids=tiny.eos_token_ids))
            assert ours == engine_tokens(tiny, trained, ids, params)
