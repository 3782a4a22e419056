"""`engine.score` on the tiny model, both engines: per-token log-probabilities equal those of one
full-sequence forward pass over prompt + option (base, and a LoRA adapter against plain PEFT, with
other adapters loaded); scoring beside running generations leaves their tokens alone; bad input
raises before anything runs; stopping the engine never leaves a scorer waiting."""

from __future__ import annotations

import asyncio

import pytest
import torch
from engine_helpers import PROMPTS, collect, make_lora, reference, request, with_adapter

from tunelab.adapters.errors import UnknownAdapterError
from tunelab.engine.batching import BatchingEngine
from tunelab.engine.sampling import SamplingParams
from tunelab.engine.scoring import score_options
from tunelab.engine.sequential import SequentialEngine
from tunelab.engine.types import ScoreRequest

OPTION_TEXTS = ["Paris", " shoes, size 42", "The capital of France is Paris.", "🙂", " blue"]


@pytest.fixture(scope="module")
def adapters(tmp_path_factory, tiny_model_dir) -> dict[str, str]:
    root = tmp_path_factory.mktemp("scoring-loras")
    return {name: str(make_lora(tiny_model_dir, root / name, seed=seed)) for name, seed in (("a", 1), ("b", 2))}


@pytest.fixture
def load_tiny(settings, store, tiny_model_dir):
    from tunelab.models.catalogue import Catalogue
    from tunelab.models.loader import load_model

    Catalogue(store).add("tiny", str(tiny_model_dir))
    return lambda: load_model("tiny", settings, store=store)


def resolver(adapters):
    def resolve(name):
        if name not in adapters:
            raise UnknownAdapterError(name, list(adapters))
        return adapters[name]
    return resolve


def make(kind: str, loaded, adapters, **kw):
    if kind == "batching":
        return BatchingEngine(loaded, adapter_paths=resolver(adapters), **kw)
    return SequentialEngine(loaded, adapter_paths=resolver(adapters), **kw)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=60))


def inputs(tok, prompt: str = PROMPTS[1]):
    options = [tok(t, add_special_tokens=False)["input_ids"] for t in OPTION_TEXTS] + [[tok.eos_token_id]]
    assert len({len(o) for o in options}) >= 3 and min(len(o) for o in options) == 1  # padding really happens
    return tok(prompt)["input_ids"], options


def direct(model, prompt: list[int], options: list[list[int]]) -> list[list[float]]:
    """The reference: one forward pass over prompt + option, log_softmax, the option tokens gathered."""
    out = []
    with torch.no_grad():
        for opt in options:
            logits = model(input_ids=torch.tensor([prompt + opt])).logits[0]  # (P + n, V)
            logp = torch.log_softmax(logits.float(), dim=-1)
            out.append([float(logp[len(prompt) - 1 + j, t]) for j, t in enumerate(opt)])
    return out


def assert_close(got: list[list[float]], want: list[list[float]]) -> None:
    assert [len(g) for g in got] == [len(w) for w in want]
    for g, w in zip(got, want):
        assert g == pytest.approx(w, abs=1e-4)


def score_req(prompt, options, adapter=None, rid="s") -> ScoreRequest:
    return ScoreRequest(request_id=rid, prompt_ids=prompt, options=options, adapter=adapter)


@pytest.mark.parametrize("kind", ["batching", "sequential"])
def test_scores_equal_a_full_sequence_forward_base_and_adapter(kind, load_tiny, adapters):
    tok = load_tiny().tokenizer
    prompt, options = inputs(tok)
    want = {None: direct(load_tiny().model, prompt, options),
            "a": direct(with_adapter(load_tiny(), adapters["a"]).model, prompt, options)}

    async def go():
        engine = make(kind, load_tiny(), adapters)
        await engine.start()
        base_alone = await engine.score(score_req(prompt, options))
        await engine.load_adapter("b")  # another adapter on the model: PEFT's multi-adapter path
        got = {a: await engine.score(score_req(prompt, options, adapter=a)) for a in ("a", None)}
        loaded = engine.stats().loaded_adapters
        await engine.stop()
        return base_alone, got, loaded

    base_alone, got, loaded = run(go())
    assert sorted(loaded) == ["a", "b"]
    assert_close(base_alone, want[None])
    assert_close(got[None], want[None])
    assert_close(got["a"], want["a"])
    # The adapter really changes the numbers, or the comparison above shows nothing.
    assert max(abs(x - y) for g, w in zip(want["a"], want[None]) for x, y in zip(g, w)) > 1e-2


def test_score_options_in_several_batches_equals_one(load_tiny):
    loaded = load_tiny()
    prompt, options = inputs(loaded.tokenizer)
    one = score_options(loaded.model, prompt, options, loaded.device)
    small = score_options(loaded.model, prompt, options, loaded.device, max_batch_elements=1)  # one option a pass
    assert_close(small, one)
    assert_close(one, direct(loaded.model, prompt, options))


def test_scoring_beside_running_generations_leaves_them_alone(load_tiny, adapters):
    tok = load_tiny().tokenizer
    long = SamplingParams(max_tokens=120, temperature=0, loop_guard=False)
    jobs = [(PROMPTS[0], None), (PROMPTS[1], "a"), (PROMPTS[3], "b")]
    refs = {a: with_adapter(load_tiny(), adapters[a] if a else None) for _, a in jobs}
    want_gen = [reference(refs[a], p, long).token_ids for p, a in jobs]
    prompt, options = inputs(tok, PROMPTS[2])
    want_score = {a: direct(refs[a].model, prompt, options) for a in (None, "a", "b")}

    async def go():
        engine = make("batching", load_tiny(), adapters)
        streams = [engine.generate(request(tok, f"g{i}", p, long, adapter=a)) for i, (p, a) in enumerate(jobs)]
        heads = [[(await anext(s)).token_id] for s in streams]
        scores = await asyncio.gather(*[engine.score(score_req(prompt, options, adapter=a, rid=str(a)))
                                        for a in ("b", None, "a")])
        running = engine.stats().running  # the generations were still going when the scores came back
        rests = [await collect(s) for s in streams]
        await engine.stop()
        return [h + r["ids"] for h, r in zip(heads, rests)], scores, running

    gen, scores, running = run(go())
    assert running == 3
    assert gen == want_gen
    for got, a in zip(scores, ("b", None, "a")):
        assert_close(got, want_score[a])


@pytest.mark.parametrize("kind", ["batching", "sequential"])
def test_bad_score_requests_raise_with_a_reason(kind, load_tiny, adapters):
    async def go():
        engine = make(kind, load_tiny(), adapters)
        await engine.start()
        ctx = engine.loaded.context_length
        with pytest.raises(ValueError, match="no options"):
            await engine.score(score_req([5, 6], []))
        with pytest.raises(ValueError, match="Option 1 has no tokens"):
            await engine.score(score_req([5, 6], [[7], []]))
        with pytest.raises(ValueError, match="prompt to score options after is empty"):
            await engine.score(score_req([], [[7]]))
        with pytest.raises(ValueError, match=f"Option 0: .* context of {ctx}"):
            await engine.score(score_req([5] * (ctx - 2), [[7, 8, 9]]))
        with pytest.raises(UnknownAdapterError, match="Unknown adapter 'zz'"):
            await engine.score(score_req([5, 6], [[7]], adapter="zz"))
        fits = await engine.score(score_req([5] * (ctx - 3), [[7, 8, 9]]))  # exactly the context: fine
        await engine.stop()
        return fits

    fits = run(go())
    assert len(fits) == 1 and len(fits[0]) == 3 and all(x <= 0 for x in fits[0])


def test_stop_and_cancel_never_leave_a_scorer_waiting(load_tiny, adapters):
    """With room for one adapter and a generation holding it, a score for another adapter waits: a
    cancelled one is dropped (later scores still run), and stop() fails the waiting one."""
    tok = load_tiny().tokenizer
    endless = SamplingParams(max_tokens=3000, temperature=0, loop_guard=False)
    prompt, options = inputs(tok)

    async def go():
        engine = make("batching", load_tiny(), adapters, max_loaded_adapters=1)
        gen = engine.generate(request(tok, "g", PROMPTS[0], endless, adapter="a"))
        await anext(gen)
        cancelled = asyncio.ensure_future(engine.score(score_req(prompt, options, adapter="b")))
        await asyncio.sleep(0.1)
        pending_after_wait = not cancelled.done()
        cancelled.cancel()
        base = await engine.score(score_req(prompt, options))  # the base needs no adapter slot
        same = await engine.score(score_req(prompt, options, adapter="a"))
        waiting = asyncio.ensure_future(engine.score(score_req(prompt, options, adapter="b")))
        await asyncio.sleep(0.1)
        await engine.stop()
        with pytest.raises(RuntimeError, match="engine stopped"):
            await waiting
        with pytest.raises(RuntimeError, match="engine is stopped"):
            await engine.score(score_req(prompt, options))
        last = [ev async for ev in gen][-1]
        return pending_after_wait, cancelled, base, same, last

    pending_after_wait, cancelled, base, same, last = run(go())
    assert pending_after_wait and cancelled.cancelled()
    assert len(base) == len(same) == len(OPTION_TEXTS) + 1
    assert last.finish_reason == "abort"


def test_sequential_scorer_waiting_behind_a_generation_is_not_left_hanging_by_stop(load_tiny, adapters):
    tok = load_tiny().tokenizer
    prompt, options = inputs(tok)
    want = direct(load_tiny().model, prompt, options)

    async def go():
        engine = make("sequential", load_tiny(), adapters)
        await engine.start()
        gen = engine.generate(request(tok, "g", PROMPTS[0], SamplingParams(max_tokens=3000, temperature=0, loop_guard=False)))
        await anext(gen)
        waiting = asyncio.ensure_future(engine.score(score_req(prompt, options)))  # behind the generation
        await asyncio.sleep(0.1)
        was_waiting = not waiting.done()
        await engine.stop()
        return was_waiting, await waiting, [ev async for ev in gen][-1]

    was_waiting, got, last = run(go())
    assert was_waiting and last.finish_reason == "abort"
    assert_close(got, want)  # the model thread ran it on its way out
