"""The batching engine's fast decode path (a lone row on the lean Llama step and a static KV cache)
on the tiny Llama: the lean step's logits equal the model's own forward; greedy tokens equal the
model-forward path (fast_decode=False) and `generate_text` alone, for the base, a LoRA adapter, a
constraint, the prefix cache on, and a request joining mid-stream (the KV goes back to the batch
and returns to the fast path once the lone row is alone again); a model it cannot run falls back."""

from __future__ import annotations

import asyncio

import pytest
import torch
from engine_helpers import PROMPTS, collect, make_lora, reference, request, with_adapter

from tunelab.engine.batching import BatchingEngine
from tunelab.engine.lean_llama import LeanLlama, StaticKV, lean_unsupported
from tunelab.engine.sampling import SamplingParams
from tunelab.engine.types import Constraint

GREEDY = SamplingParams(max_tokens=24, temperature=0, loop_guard=False)


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, tiny_model_dir) -> dict[str, str]:
    return {"a": str(make_lora(tiny_model_dir, tmp_path_factory.mktemp("fast-lora") / "a", seed=1))}


@pytest.fixture
def load_tiny(settings, store, tiny_model_dir):
    from tunelab.models.catalogue import Catalogue
    from tunelab.models.loader import load_model

    Catalogue(store).add("tiny", str(tiny_model_dir))
    return lambda **kw: load_model("tiny", settings, store=store, **kw)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=60))


def generate_each(engine: BatchingEngine, jobs: list[tuple[str, str | None, SamplingParams, dict]]) -> list[dict]:
    """Each job alone, one after the other (so every one runs as a lone row)."""
    async def go():
        tok = engine.loaded.tokenizer
        out = [await collect(engine.generate(request(tok, f"r{i}", p, params, adapter=a, **kw)))
               for i, (p, a, params, kw) in enumerate(jobs)]
        await engine.stop()
        return out
    return run(go())


def test_lean_step_logits_equal_the_model_forward(load_tiny, adapter):
    from transformers import DynamicCache

    from tunelab.engine.adapter_pool import AdapterPool

    loaded = load_tiny()
    pool = AdapterPool(loaded, adapter.__getitem__)
    pool.ensure("a")
    ids = loaded.tokenizer(PROMPTS[1])["input_ids"]
    with torch.inference_mode():
        for name in (None, "a"):
            cache = DynamicCache()
            out = pool.forward(torch.tensor([ids]), [name], cache=cache)
            lean = LeanLlama(pool.peft)
            plan = lean.plan(pool.weights_key(name))
            kv = StaticKV([(layer.keys.clone(), layer.values.clone()) for layer in cache.layers], len(ids) + 2)
            token, pos = out.logits[:, -1].argmax(-1, keepdim=True), len(ids)
            for _ in range(6):  # past the initial capacity: the cache grows
                want = pool.forward(token, [name], cache=cache).logits[:, -1]
                got = lean.step(plan, token, pos, kv)
                torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
                token, pos = want.argmax(-1, keepdim=True), pos + 1
            assert kv.length == pos and kv.capacity >= pos


def test_lone_requests_match_the_model_forward_path(load_tiny, adapter):
    choice = Constraint(kind="choice", choices=("red shoes", "blue socks", "green hat"))
    jobs = [(PROMPTS[0], None, GREEDY, {}), (PROMPTS[1], "a", GREEDY, {}), (PROMPTS[2], "a", GREEDY, {"logprobs": 2}),
            (PROMPTS[3], None, SamplingParams(max_tokens=12, temperature=0), {"constraint": choice})]
    fast = BatchingEngine(load_tiny(), adapter_paths=adapter.__getitem__)
    slow = BatchingEngine(load_tiny(), adapter_paths=adapter.__getitem__, fast_decode=False)
    got, want = generate_each(fast, jobs), generate_each(slow, jobs)
    assert [g["ids"] for g in got] == [w["ids"] for w in want]
    assert [g["text"] for g in got] == [w["text"] for w in want]
    assert got[3]["text"] in choice.choices
    for g, w in zip(got[2]["events"], want[2]["events"]):
        assert g.logprob == pytest.approx(w.logprob, abs=1e-5)
    # Each ran alone: every decode step ran on the fast path; the other engine never used it.
    assert fast.fast_steps == fast.steps >= sum(len(g["ids"]) - 1 for g in got[:3])
    assert slow.fast_steps == 0 and slow.steps == fast.steps
    refs = {None: load_tiny(), "a": with_adapter(load_tiny(), adapter["a"])}
    assert [g["ids"] for g in got[:2]] == [reference(refs[a], p, GREEDY).token_ids for p, a, _, _ in jobs[:2]]


def test_prefix_cache_hits_on_the_fast_path(load_tiny, adapter):
    shared = "Stainless steel water bottle, 750 ml, keeps drinks cold for a day and hot for twelve hours. "
    jobs = [(shared + tail, a, GREEDY, {}) for tail in ("Red.", "Blue.") for a in (None, "a")]
    fast = BatchingEngine(load_tiny(), adapter_paths=adapter.__getitem__, prefix_cache_bytes=16 << 20)
    slow = BatchingEngine(load_tiny(), adapter_paths=adapter.__getitem__, fast_decode=False)
    got, want = generate_each(fast, jobs), generate_each(slow, jobs)
    assert [g["ids"] for g in got] == [w["ids"] for w in want]
    assert fast.prefix_cache.stats().hit_tokens > 0 and fast.fast_steps > 0


def test_a_request_joining_mid_stream_hands_the_kv_back(load_tiny, adapter):
    long = SamplingParams(max_tokens=80, temperature=0, loop_guard=False)
    refs = {None: load_tiny(), "a": with_adapter(load_tiny(), adapter["a"])}
    want_long = reference(refs["a"], PROMPTS[1], long).token_ids
    want_late = reference(refs[None], PROMPTS[0], GREEDY).token_ids

    async def go():
        engine = BatchingEngine(load_tiny(), adapter_paths=adapter.__getitem__)
        tok = engine.loaded.tokenizer
        first = engine.generate(request(tok, "long", PROMPTS[1], long, adapter="a"))
        head = [await anext(first) for _ in range(10)]
        before = engine.fast_steps
        late = await collect(engine.generate(request(tok, "late", PROMPTS[0], GREEDY)))
        during = engine.fast_steps
        rest = await collect(first)
        await engine.stop()
        return engine, [e.token_id for e in head] + rest["ids"], late, before, during

    engine, long_ids, late, before, during = run(go())
    assert long_ids == want_long and late["ids"] == want_late
    assert engine.peak_running == 2  # they shared steps on the batch path
    assert before >= 8  # the long one ran alone on the fast path first
    assert engine.fast_steps > during  # and went back to it once the late one finished
    assert engine.steps - engine.fast_steps >= len(want_late) - 1  # the shared steps were batch steps


def test_int8_layers_run_as_their_own_modules(load_tiny, adapter):
    jobs = [(PROMPTS[0], None, GREEDY, {}), (PROMPTS[1], "a", GREEDY, {})]
    fast = BatchingEngine(load_tiny(quantization="int8"), adapter_paths=adapter.__getitem__)
    slow = BatchingEngine(load_tiny(quantization="int8"), adapter_paths=adapter.__getitem__, fast_decode=False)
    got, want = generate_each(fast, jobs), generate_each(slow, jobs)
    assert [g["ids"] for g in got] == [w["ids"] for w in want] and fast.fast_steps > 0


def test_a_model_it_cannot_run_takes_the_model_forward(load_tiny, tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    dynamic = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                          num_attention_heads=2, num_key_value_heads=1,
                          rope_parameters={"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0})
    assert "depends on the sequence length" in lean_unsupported(LlamaForCausalLM(dynamic))
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_embd=16, n_layer=1, n_head=2))
    assert "not a Llama" in lean_unsupported(gpt2)
    with pytest.raises(ValueError, match="cannot run this model"):
        LeanLlama(gpt2)
    loaded = load_tiny()
    assert lean_unsupported(loaded.model) is None
    loaded.model.config.rope_parameters = {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0}
    engine = BatchingEngine(loaded, adapter_paths=str)  # the check runs when the engine is built
    loaded.model.config.rope_parameters = {"rope_type": "default", "rope_theta": 10000.0}
    out = generate_each(engine, [(PROMPTS[0], None, GREEDY, {})])
    assert len(out[0]["ids"]) == GREEDY.max_tokens and engine.steps > 0 and engine.fast_steps == 0


def test_the_setting_reaches_the_engine(monkeypatch, load_tiny):
    from tunelab.serve.app import engine_factory_for
    from tunelab.settings import Settings

    monkeypatch.setenv("TUNELAB_FAST_DECODE", "0")
    off = engine_factory_for("batching")(load_tiny(), str, Settings())
    on = engine_factory_for("batching")(load_tiny(), str, Settings(fast_decode=True))
    assert off._batch.solo is None and on._batch.solo is not None and on._batch.solo.available


def test_a_failing_lean_step_hands_over_to_the_model_forward(load_tiny, monkeypatch):
    want = reference(load_tiny(), PROMPTS[2], GREEDY).token_ids
    calls = []

    def broken(self, plan, token, pos, kv):
        calls.append(pos)
        kv.keys[:, :, :, pos:] = 0  # a step that dies half-way, after writing its own position
        raise RuntimeError("no kernel for this")

    monkeypatch.setattr(LeanLlama, "step", broken)
    engine = BatchingEngine(load_tiny(), adapter_paths=str)
    out = generate_each(engine, [(PROMPTS[2], None, GREEDY, {}), (PROMPTS[2], None, GREEDY, {})])
    assert out[0]["ids"] == out[1]["ids"] == want
    assert len(calls) == 1 and engine.fast_steps == 0 and not engine._batch.solo.available
