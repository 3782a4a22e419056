"""BatchingEngine on the tiny model: every request in a mixed batch (base, adapter a, adapter b;
joining mid-way or not) gets exactly the tokens `generate_text` gives it alone; seeds, stop strings,
cancellation, the queue bound and the adapter LRU cap behave as the contract says."""

from __future__ import annotations

import asyncio
import time

import pytest
from engine_helpers import PROMPTS, collect, make_foreign_lora, make_lora, reference, request, with_adapter

from tunelab.engine.batching import BatchingEngine
from tunelab.engine.sampling import SamplingParams
from tunelab.engine.types import GenerationEngine, QueueFullError
from tunelab.models.errors import ModelSourceError

GREEDY = SamplingParams(max_tokens=24, temperature=0, loop_guard=False)  # runs to max_tokens even where the tiny model loops


@pytest.fixture(scope="module")
def adapters(tmp_path_factory, tiny_model_dir) -> dict[str, str]:
    root = tmp_path_factory.mktemp("engine-loras")
    return {name: str(make_lora(tiny_model_dir, root / name, seed=seed)) for name, seed in (("a", 1), ("b", 2))}


@pytest.fixture
def load_tiny(settings, store, tiny_model_dir):
    """A function returning a fresh copy of the tiny model (each engine or reference gets its own)."""
    from tunelab.models.catalogue import Catalogue
    from tunelab.models.loader import load_model

    Catalogue(store).add("tiny", str(tiny_model_dir))
    return lambda: load_model("tiny", settings, store=store)


@pytest.fixture
def refs(load_tiny, adapters):
    """adapter name (None = base) -> a model with that adapter alone, for reference generations."""
    return {name: with_adapter(load_tiny(), path) for name, path in {None: None, **adapters}.items()}


def make_engine(load_tiny, adapters, **kw) -> BatchingEngine:
    return BatchingEngine(load_tiny(), adapter_paths=adapters.__getitem__, **kw)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=60))


def test_is_a_generation_engine(load_tiny, adapters):
    engine: GenerationEngine = make_engine(load_tiny, adapters)
    assert engine.stats().running == 0


def test_mixed_adapter_batch_matches_each_request_alone(load_tiny, adapters, refs):
    jobs = [(p, a) for p in PROMPTS for a in (None, "a", "b")]
    want = [reference(refs[a], p, GREEDY).token_ids for p, a in jobs]
    for i in range(len(PROMPTS)):  # the adapters really change the output, or this test shows nothing
        assert len({tuple(w) for w in want[3 * i:3 * i + 3]}) == 3

    async def go():
        engine = make_engine(load_tiny, adapters, max_batch_size=len(jobs))
        await engine.start()
        tok = engine.loaded.tokenizer
        out = await asyncio.gather(*[collect(engine.generate(request(tok, f"r{i}", p, GREEDY, adapter=a)))
                                     for i, (p, a) in enumerate(jobs)])
        await engine.stop()
        return engine, out

    engine, out = run(go())
    assert [o["ids"] for o in out] == want
    assert engine.peak_adapter_mix == 3 and engine.peak_running == len(jobs)  # one forward pass held all
    assert [o["text"] for o in out] == [reference(refs[a], p, GREEDY).text for p, a in jobs]
    assert all(o["finish"] == "length" and o["events"][-1].completion_tokens == 24 for o in out)
    assert engine.stats().loaded_adapters == ["a", "b"]


def test_requests_joining_a_running_batch_match_alone(load_tiny, adapters, refs):
    long = SamplingParams(max_tokens=160, temperature=0)
    want_long = reference(refs["a"], PROMPTS[1], long).token_ids
    late = [(PROMPTS[0], None), (PROMPTS[3], "b"), (PROMPTS[2], "a")]
    want_late = [reference(refs[a], p, GREEDY).token_ids for p, a in late]

    async def go():
        engine = make_engine(load_tiny, adapters)
        await engine.start()
        tok = engine.loaded.tokenizer
        first = engine.generate(request(tok, "long", PROMPTS[1], long, adapter="a"))
        head = [await anext(first) for _ in range(5)]
        running_before = engine.stats().running
        joined = await asyncio.gather(*[collect(engine.generate(request(tok, f"late{i}", p, GREEDY, adapter=a)))
                                        for i, (p, a) in enumerate(late)])
        rest = await collect(first)
        await engine.stop()
        return engine, running_before, [e.token_id for e in head] + rest["ids"], joined

    engine, running_before, long_ids, joined = run(go())
    assert running_before == 1
    assert long_ids == want_long
    assert [j["ids"] for j in joined] == want_late
    assert engine.peak_running == 4  # the late ones ran beside the long one, not after it


def test_same_seed_same_tokens_in_any_batch_other_seed_differs(load_tiny, adapters, refs):
    hot = SamplingParams(max_tokens=30, temperature=1.0, top_p=0.9, seed=7)
    want = reference(refs["b"], PROMPTS[0], hot).token_ids

    async def go():
        engine = make_engine(load_tiny, adapters)
        await engine.start()
        tok = engine.loaded.tokenizer
        alone = await collect(engine.generate(request(tok, "x", PROMPTS[0], hot, adapter="b")))
        crowd = await asyncio.gather(
            collect(engine.generate(request(tok, "y", PROMPTS[0], hot, adapter="b"))),
            collect(engine.generate(request(tok, "z", PROMPTS[1], SamplingParams(max_tokens=30, temperature=1.0)))),
            collect(engine.generate(request(tok, "w", PROMPTS[0], hot.model_copy(update={"seed": 8}), adapter="b"))),
        )
        await engine.stop()
        return alone, crowd

    alone, (again, _, other_seed) = run(go())
    assert alone["ids"] == again["ids"] == want
    assert other_seed["ids"] != want


def test_stop_string_cuts_the_text_and_is_never_sent(load_tiny, adapters, refs):
    full = reference(refs[None], PROMPTS[0], SamplingParams(max_tokens=40, temperature=0)).text
    stop = full[6:9]
    params = SamplingParams(max_tokens=40, temperature=0, stop=["@@never@@", stop])
    want = reference(refs[None], PROMPTS[0], params)

    async def go():
        engine = make_engine(load_tiny, adapters)
        tok = engine.loaded.tokenizer
        out = await asyncio.gather(collect(engine.generate(request(tok, "s", PROMPTS[0], params))),
                                   collect(engine.generate(request(tok, "t", PROMPTS[1], GREEDY, adapter="a"))))
        await engine.stop()
        return out[0]

    out = run(go())
    assert out["finish"] == "stop" and want.finish_reason == "stop"
    assert out["text"] == want.text == full[: full.find(stop)]
    assert out["ids"] == want.token_ids
    sent = ""
    for ev in out["events"]:  # no prefix of the text ever ended inside the stop string
        sent += ev.text
        assert stop not in sent


def test_cancelling_frees_the_slot_and_aborts(load_tiny, adapters, refs):
    endless = SamplingParams(max_tokens=3000, temperature=0, loop_guard=False)
    want = reference(refs["a"], PROMPTS[2], GREEDY).token_ids

    async def go():
        engine = make_engine(load_tiny, adapters, max_batch_size=1)
        tok = engine.loaded.tokenizer
        a = engine.generate(request(tok, "a", PROMPTS[0], endless))
        await anext(a)
        b = engine.generate(request(tok, "b", PROMPTS[1], endless))  # waits: the one slot is taken
        await asyncio.sleep(0.05)
        waiting = engine.stats()
        await a.aclose()  # the client went away
        async for _ev in b:  # a consumer that breaks out and drops the stream cancels it too
            break
        del b
        c = await collect(engine.generate(request(tok, "c", PROMPTS[2], GREEDY, adapter="a")))
        await asyncio.sleep(0.05)
        after = engine.stats()
        await engine.stop()
        return waiting, c, after

    waiting, c, after = run(go())
    assert (waiting.running, waiting.queue_depth) == (1, 1)
    assert c["ids"] == want
    assert (after.running, after.queue_depth) == (0, 0)


def test_full_queue_refuses_with_queue_full_error(load_tiny, adapters):
    endless = SamplingParams(max_tokens=3000, temperature=0, loop_guard=False)

    async def go():
        engine = make_engine(load_tiny, adapters, max_batch_size=1, max_queue=2, retry_after_s=99.0)
        tok = engine.loaded.tokenizer
        started = time.monotonic()
        for i in range(3):  # three finish: the drain rate is measured from them, not the 99 s fallback
            await collect(engine.generate(request(tok, f"s{i}", PROMPTS[0], GREEDY)))
        first_done = engine.drain._done[0]
        first = engine.generate(request(tok, "1", PROMPTS[0], endless))
        await anext(first)
        queued = [engine.generate(request(tok, str(i), PROMPTS[0], endless)) for i in (2, 3)]
        stats = engine.stats()
        refused = engine.generate(request(tok, "4", PROMPTS[0], endless))
        with pytest.raises(QueueFullError) as info:
            await anext(refused)
        refused_at = time.monotonic()
        await first.aclose()
        for q in queued:
            await q.aclose()
        await engine.stop()
        return stats, info.value, started, first_done, refused_at

    stats, err, started, first_done, refused_at = run(go())
    assert (stats.running, stats.queue_depth) == (1, 2)
    # 3 finished between first_done and the refusal: one more slot in 1 / (3 / that span) seconds
    assert err.retry_after_s == pytest.approx(max(refused_at - first_done, 1.0) / 3, rel=0.05)
    assert err.retry_after_s < 99.0 and refused_at > started


def test_adapter_lru_cap_evicts_idle_adapters_only(load_tiny, adapters, refs):
    want = {a: reference(refs[a], PROMPTS[1], GREEDY).token_ids for a in ("a", "b")}

    async def go():
        engine = make_engine(load_tiny, adapters, max_loaded_adapters=1)
        tok = engine.loaded.tokenizer
        gen = lambda a: collect(engine.generate(request(tok, a, PROMPTS[1], GREEDY, adapter=a)))  # noqa: E731
        first = await gen("a")
        after_a = engine.stats().loaded_adapters
        second = await gen("b")
        after_b = engine.stats().loaded_adapters
        # Both at once with room for one adapter: b waits until a's request is done, then replaces it.
        both = await asyncio.gather(gen("a"), gen("b"))
        await engine.stop()
        return engine, first, after_a, second, after_b, both

    engine, first, after_a, second, after_b, both = run(go())
    assert (after_a, after_b) == (["a"], ["b"])
    assert first["ids"] == both[0]["ids"] == want["a"]
    assert second["ids"] == both[1]["ids"] == want["b"]
    assert engine.peak_adapter_mix == 1


def test_load_and_unload_adapter_commands(load_tiny, adapters, refs):
    want = reference(refs[None], PROMPTS[3], GREEDY).token_ids

    async def go():
        engine = make_engine(load_tiny, adapters)
        await engine.start()
        await engine.load_adapter("b")
        await engine.load_adapter("a")
        loaded = engine.stats().loaded_adapters
        await engine.unload_adapter("b")
        await engine.unload_adapter("a")  # the last one: the plain base model again
        base = await collect(engine.generate(request(engine.loaded.tokenizer, "x", PROMPTS[3], GREEDY)))
        with pytest.raises(KeyError):
            await engine.load_adapter("nope")
        await engine.stop()
        return loaded, engine.stats().loaded_adapters, base

    loaded, after, base = run(go())
    assert loaded == ["b", "a"] and after == []
    assert base["ids"] == want


def test_adapter_errors_fail_only_their_request(load_tiny, adapters, refs, tmp_path):
    paths = {**adapters, "foreign": str(make_foreign_lora(tmp_path / "foreign"))}
    want = reference(refs[None], PROMPTS[0], GREEDY).token_ids

    async def go():
        engine = BatchingEngine(load_tiny(), adapter_paths=paths.__getitem__)
        tok = engine.loaded.tokenizer
        with pytest.raises(KeyError):  # an unknown name: the resolver's own error, nothing queued
            await anext(engine.generate(request(tok, "u", PROMPTS[0], GREEDY, adapter="unknown")))
        with pytest.raises(ModelSourceError, match="does not fit"):
            await collect(engine.generate(request(tok, "f", PROMPTS[0], GREEDY, adapter="foreign")))
        base = await collect(engine.generate(request(tok, "b", PROMPTS[0], GREEDY)))
        await engine.stop()
        return engine, base

    from peft.tuners.tuners_utils import BaseTunerLayer

    engine, base = run(go())
    assert base["ids"] == want
    # PEFT injects LoRA layers before it finds the weights do not fit: the engine took them out again.
    assert not any(isinstance(m, BaseTunerLayer) for m in engine.loaded.model.modules())
    assert engine.stats().loaded_adapters == []


def test_logprobs_of_each_token(load_tiny, adapters):
    async def go():
        engine = make_engine(load_tiny, adapters)
        tok = engine.loaded.tokenizer
        out = await collect(engine.generate(request(tok, "l", PROMPTS[0], GREEDY, logprobs=3)))
        plain = await collect(engine.generate(request(tok, "p", PROMPTS[0], GREEDY)))
        await engine.stop()
        return tok, out, plain

    tok, out, plain = run(go())
    for ev in out["events"]:
        assert len(ev.top_logprobs) == 3 and ev.logprob <= 0
        assert ev.top_logprobs[0] == (tok.decode([ev.token_id]), pytest.approx(ev.logprob))  # greedy: the best
    assert all(ev.logprob is None and ev.top_logprobs == [] for ev in plain["events"])


def test_context_limit(load_tiny, adapters):
    async def go():
        engine = make_engine(load_tiny, adapters)
        ctx = engine.loaded.context_length
        near = await collect(engine.generate(_ids_request("n", [5] * (ctx - 3))))
        with pytest.raises(ValueError, match=f"context is {ctx}"):
            await anext(engine.generate(_ids_request("o", [5] * ctx)))
        await engine.stop()
        return near

    near = run(go())
    assert len(near["ids"]) == 3 and near["finish"] == "length"


def _ids_request(rid, ids):
    from tunelab.engine.types import GenRequest

    return GenRequest(request_id=rid, prompt_ids=ids, params=GREEDY)


def test_stop_aborts_running_and_queued_requests(load_tiny, adapters):
    endless = SamplingParams(max_tokens=3000, temperature=0, loop_guard=False)

    async def go():
        engine = make_engine(load_tiny, adapters, max_batch_size=1)
        tok = engine.loaded.tokenizer
        running = engine.generate(request(tok, "r", PROMPTS[0], endless))
        await anext(running)
        queued = engine.generate(request(tok, "q", PROMPTS[1], endless))
        await engine.stop()
        return [ev async for ev in running][-1], [ev async for ev in queued][-1]

    last_running, last_queued = run(go())
    assert last_running.finish_reason == last_queued.finish_reason == "abort"
