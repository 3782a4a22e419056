"""SequentialEngine on the tiny model: the same tokens as the library's generation (base and with an
adapter, against plain PEFT), adapters switched per request under an LRU cap, a bounded queue,
cancellation when the consumer closes its iterator, and the constraint hook."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
import torch

from tunelab.adapters.errors import UnknownAdapterError
from tunelab.engine.generation import SamplingParams, generate_text
from tunelab.engine.guides import NO_CONSTRAINTS, ConstraintUnsupportedError
from tunelab.engine.sequential import SequentialEngine
from tunelab.engine.types import Constraint, GenRequest, QueueFullError

PROMPT = "Wireless earbuds with a charging case"


def make_lora(base_dir: Path, out: Path, seed: int) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    cfg = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(AutoModelForCausalLM.from_pretrained(base_dir), cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def loras(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp("engine-loras")
    return {"a": make_lora(tiny_model_dir, root / "a", 1), "b.v2": make_lora(tiny_model_dir, root / "b", 2)}


def resolver(loras):
    def resolve(name):
        if name not in loras:
            raise UnknownAdapterError(name, list(loras))
        return loras[name]
    return resolve


def peft_reference(tiny_model_dir, tiny, adapter_dir):
    """The loaded tiny model with `adapter_dir` applied by plain PEFT, on a fresh copy of the base."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    return dataclasses.replace(tiny, model=PeftModel.from_pretrained(base, str(adapter_dir)).eval())


async def collect(engine, req):
    events = [ev async for ev in engine.generate(req)]
    return events


def request(ids, adapter=None, **sampling):
    sampling.setdefault("max_tokens", 16)
    sampling.setdefault("temperature", 0)
    return GenRequest(request_id="r", prompt_ids=ids, params=SamplingParams(**sampling), adapter=adapter)


def run(coro_fn, engine):
    async def main():
        await engine.start()
        try:
            return await coro_fn()
        finally:
            await engine.stop()
    return asyncio.run(main())


def test_tokens_match_the_library_generation_base_and_adapters(tiny, tiny_model_dir, loras):
    ids = tiny.tokenizer(PROMPT)["input_ids"]
    expected = {
        None: generate_text(tiny, ids, SamplingParams(max_tokens=16, temperature=0)),
        "a": generate_text(peft_reference(tiny_model_dir, tiny, loras["a"]), ids,
                           SamplingParams(max_tokens=16, temperature=0)),
        "b.v2": generate_text(peft_reference(tiny_model_dir, tiny, loras["b.v2"]), ids,
                              SamplingParams(max_tokens=16, temperature=0)),
    }
    seeded = generate_text(tiny, ids, SamplingParams(max_tokens=16, temperature=1.0, seed=5))
    engine = SequentialEngine(tiny, adapter_paths=resolver(loras), max_loaded_adapters=1)

    async def go():
        out = {}
        for adapter in (None, "a", "b.v2", None, "a"):  # the cap of 1 evicts a for b.v2, then reloads it
            events = await collect(engine, request(ids, adapter))
            out.setdefault(adapter, []).append(events)
        out["seeded"] = await collect(engine, request(ids, temperature=1.0, seed=5))
        return out

    got = run(go, engine)
    for adapter, runs in ((k, v) for k, v in got.items() if k != "seeded"):
        for events in runs:
            assert [e.token_id for e in events if e.token_id is not None] == expected[adapter].token_ids
            assert "".join(e.text for e in events) == expected[adapter].text
            assert events[-1].finish_reason == expected[adapter].finish_reason
            assert events[-1].completion_tokens == 16 and events[-1].prompt_tokens == len(ids)
    assert "".join(e.text for e in got["seeded"]) == seeded.text
    assert len({expected[k].text for k in expected}) == 3
    assert engine.stats().loaded_adapters == ["a"]


def test_unloading_the_last_adapter_gives_the_plain_base_back(tiny, loras):
    ids = tiny.tokenizer(PROMPT)["input_ids"]
    base = generate_text(tiny, ids, SamplingParams(max_tokens=12, temperature=0)).text
    engine = SequentialEngine(tiny, adapter_paths=resolver(loras))

    async def go():
        await engine.load_adapter("a")
        await engine.load_adapter("b.v2")
        assert engine.stats().loaded_adapters == ["a", "b.v2"]
        await engine.unload_adapter("a")
        await engine.unload_adapter("b.v2")
        with pytest.raises(UnknownAdapterError):
            await engine.unload_adapter("a")
        with pytest.raises(UnknownAdapterError):
            await engine.load_adapter("nope")
        with pytest.raises(UnknownAdapterError):
            await collect(engine, request(ids, "nope"))
        return "".join(e.text for e in await collect(engine, request(ids, max_tokens=12)))

    assert run(go, engine) == base
    assert engine.stats().loaded_adapters == [] and type(tiny.model).__name__ == "LlamaForCausalLM"


def test_stop_strings_and_logprobs(tiny):
    ids = tiny.tokenizer(PROMPT)["input_ids"]
    full = generate_text(tiny, ids, SamplingParams(max_tokens=30, temperature=0)).text
    stop = full[5:8]
    engine = SequentialEngine(tiny, adapter_paths=resolver({}))

    async def go():
        cut = await collect(engine, request(ids, max_tokens=30, stop=[stop]))
        req = request(ids, max_tokens=4)
        req.logprobs = 3
        return cut, await collect(engine, req)

    cut, with_logprobs = run(go, engine)
    assert "".join(e.text for e in cut) == full[: full.find(stop)] and cut[-1].finish_reason == "stop"
    for ev in with_logprobs:
        assert len(ev.top_logprobs) == 3 and ev.logprob == pytest.approx(ev.top_logprobs[0][1])  # greedy


def test_a_closed_iterator_cancels_and_a_full_queue_refuses(tiny):
    ids = tiny.tokenizer(PROMPT)["input_ids"]
    engine = SequentialEngine(tiny, adapter_paths=resolver({}), max_queue=1)

    async def go():
        long = engine.generate(request(ids, max_tokens=3000, loop_guard=False))
        first = await long.__anext__()
        assert first.token_id is not None and engine.stats().running == 1
        waiting = engine.generate(request(ids, max_tokens=2))
        waiter = asyncio.create_task(collect(engine, request(ids, max_tokens=2)))  # takes the one queue slot
        await asyncio.sleep(0.05)
        assert engine.stats().queue_depth == 1
        with pytest.raises(QueueFullError) as exc:
            await waiting.__anext__()
        assert exc.value.retry_after_s > 0
        await long.aclose()  # the consumer goes away
        events = await asyncio.wait_for(waiter, 10)  # ... so the waiting request runs at once
        for _ in range(100):
            if engine.stats().running == 0:
                break
            await asyncio.sleep(0.01)
        return events, engine.stats()

    events, stats = run(go, engine)
    assert events[-1].finish_reason == "length" and stats.running == 0 and stats.queue_depth == 0


def test_constraints_need_a_backend(tiny):
    ids = tiny.tokenizer(PROMPT)["input_ids"]
    req = request(ids)
    req.constraint = Constraint(kind="choice", choices=("yes", "no"))
    engine = SequentialEngine(tiny, adapter_paths=resolver({}), constraint_backend=NO_CONSTRAINTS)

    async def refused():
        with pytest.raises(ConstraintUnsupportedError, match="constrained engine"):
            await collect(engine, req)

    run(refused, engine)

    class OnlyYes:  # a stand-in guide that allows the tokens of "yes" in order
        def __init__(self, tokenizer):
            self.todo = tokenizer("yes", add_special_tokens=False)["input_ids"]

        def mask(self, logits):
            out = torch.full_like(logits, float("-inf"))
            out[0, self.todo[0]] = 0.0
            return out

        def advance(self, token_id):
            assert token_id == self.todo.pop(0)

        def is_done(self):
            return not self.todo

    guided = SequentialEngine(tiny, adapter_paths=resolver({}), constraint_backend=lambda c, tok: OnlyYes(tok))
    events = run(lambda: collect(guided, req), guided)
    assert "".join(e.text for e in events) == "yes" and events[-1].finish_reason == "stop"
