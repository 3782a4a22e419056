"""EngineTaskModel end to end on the tiny model: `complete` at temperature 0 is `generate_text`'s greedy
output for the same chat prompt (both engines), a choice constraint yields one of the choices, a full
queue is waited out; `score` counts the end-of-turn token, so the reply a model gives (ending with
EOS) outranks its own prefix, and equals one forward pass over the rendered conversation."""

from __future__ import annotations

import asyncio

import pytest
import torch

from tunelab.adapters.errors import UnknownAdapterError
from tunelab.engine.batching import BatchingEngine
from tunelab.engine.generation import SamplingParams, generate_text
from tunelab.engine.sequential import SequentialEngine
from tunelab.engine.types import Constraint, GenRequest
from tunelab.tasks.model import EngineTaskModel, TaskModelError

MESSAGES = [{"role": "system", "content": "You classify products."},
            {"role": "user", "content": "Wireless earbuds with noise cancelling and a charging case."}]
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
ANSWER = "The capital of France is Paris."


def no_adapters(name):
    raise UnknownAdapterError(name, [])


@pytest.fixture
def load_tiny(settings, store, tiny_model_dir):
    from tunelab.models.catalogue import Catalogue
    from tunelab.models.loader import load_model

    Catalogue(store).add("tiny", str(tiny_model_dir))
    return lambda: load_model("tiny", settings, store=store)


def engine_for(kind: str, loaded, **kw):
    if kind == "batching":
        return BatchingEngine(loaded, adapter_paths=no_adapters, **kw)
    return SequentialEngine(loaded, adapter_paths=no_adapters, **kw)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=60))


async def with_model(kind, loaded, fn, **kw):
    engine = engine_for(kind, loaded, **kw)
    await engine.start()
    try:
        return await fn(EngineTaskModel(engine, loaded), engine)
    finally:
        await engine.stop()


def chat_ids(loaded, messages) -> list[int]:
    return loaded.tokenizer(loaded.chat_prompt(messages), add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("kind", ["batching", "sequential"])
def test_complete_is_the_greedy_generation_of_the_chat_prompt(kind, load_tiny):
    ref = load_tiny()
    want = generate_text(ref, chat_ids(ref, MESSAGES), SamplingParams(max_tokens=20, temperature=0))
    assert want.text and want.finish_reason == "length"

    async def go(model, engine):
        return await model.complete(MESSAGES, max_tokens=20)

    assert run(with_model(kind, load_tiny(), go)) == want.text


def test_complete_with_a_choice_constraint_returns_a_choice(load_tiny):
    choices = ("Electronics > Audio > Headphones", "Apparel & Accessories > Shoes", "Home & Garden")

    async def go(model, engine):
        return [await model.complete(MESSAGES, max_tokens=30, constraint=Constraint(kind="choice", choices=choices)),
                await model.complete(QUESTION, max_tokens=3, constraint=Constraint(kind="choice", choices=choices))]

    out = run(with_model("batching", load_tiny(), go))
    assert all(o in choices for o in out)  # even when max_tokens is shorter than every choice


def test_a_full_queue_is_waited_out(load_tiny):
    ref = load_tiny()
    want = generate_text(ref, chat_ids(ref, MESSAGES), SamplingParams(max_tokens=8, temperature=0)).text
    tok = ref.tokenizer
    endless = SamplingParams(max_tokens=3000, temperature=0, loop_guard=False)

    async def go(model, engine):
        hog = engine.generate(GenRequest("hog", tok("Hello!")["input_ids"], endless))
        await anext(hog)  # the one batch slot is taken
        queued = engine.generate(GenRequest("q", tok("Hello!")["input_ids"], SamplingParams(max_tokens=4)))
        depth = engine.stats().queue_depth  # and the one queue place too
        task = asyncio.ensure_future(model.complete(MESSAGES, max_tokens=8))
        await asyncio.sleep(0.3)
        still_waiting = not task.done()
        await hog.aclose()
        [ev async for ev in queued]
        return depth, still_waiting, await task

    depth, still_waiting, text = run(with_model("batching", load_tiny(), go, max_batch_size=1, max_queue=1))
    assert depth == 1 and still_waiting
    assert text == want


@pytest.mark.parametrize("kind", ["batching", "sequential"])
def test_engine_errors_name_the_model(kind, load_tiny):
    async def go(model, engine):
        errors = []
        with pytest.raises(TaskModelError, match="tiny: Option 0: .* context") as info:
            await model.score(MESSAGES, ["x" * 20000])
        errors.append(info.value)
        # Held to a pattern with no end: a free answer from the tiny model loops (and the loop guard ends
        # it) or meets its end-of-turn token, either well before the engine stops.
        endless = Constraint(kind="regex", pattern="[a-z]+")
        long = asyncio.ensure_future(model.complete(MESSAGES, max_tokens=3000, constraint=endless))
        await asyncio.sleep(0.3)  # generating
        await engine.stop()
        with pytest.raises(TaskModelError, match="tiny: .*(aborted|stopped)"):
            await long
        return errors

    run(with_model(kind, load_tiny(), go))


def test_option_ids_end_with_the_end_of_turn_token_as_rendered(load_tiny):
    loaded = load_tiny()
    model = EngineTaskModel(None, loaded)
    prompt_text = loaded.chat_prompt(QUESTION)
    im_end = loaded.tokenizer.convert_tokens_to_ids("<|im_end|>")
    for option in (ANSWER, "Paris", ""):
        ids = model.option_ids(QUESTION, prompt_text, option)
        assert ids[-1] == im_end and im_end not in ids[:-1]
        full = loaded.chat_prompt(QUESTION + [{"role": "assistant", "content": option}], add_generation_prompt=False)
        # What training sees (the whole conversation tokenized once), up to the end of the turn.
        assert chat_ids(loaded, QUESTION) + ids == loaded.tokenizer(full.rstrip("\n"))["input_ids"]


def train_to_answer(loaded, messages, answer: str, steps: int = 80) -> None:
    """Teach the tiny model one reply, end-of-turn included, so its greedy output is known."""
    text = loaded.chat_prompt(messages + [{"role": "assistant", "content": answer}], add_generation_prompt=False)
    ids = torch.tensor([loaded.tokenizer(text, add_special_tokens=False)["input_ids"]])
    torch.manual_seed(0)
    opt = torch.optim.AdamW(loaded.model.parameters(), lr=3e-3)
    loaded.model.train()
    with torch.enable_grad():
        for _ in range(steps):
            loaded.model(input_ids=ids, labels=ids).loss.backward()
            opt.step()
            opt.zero_grad()
    loaded.model.eval()


def test_the_reply_the_model_gives_scores_highest(load_tiny):
    loaded = load_tiny()
    train_to_answer(loaded, QUESTION, ANSWER)
    greedy = generate_text(loaded, chat_ids(loaded, QUESTION), SamplingParams(max_tokens=30, temperature=0))
    assert (greedy.text, greedy.finish_reason) == (ANSWER, "stop")  # it ends with EOS
    tok = loaded.tokenizer
    ans_ids = tok(ANSWER, add_special_tokens=False)["input_ids"]
    prefix = tok.decode(ans_ids[:-2])  # "The capital of France is" or so: every token of it likely too
    options = [prefix, ANSWER + " Paris.", "Wireless earbuds", ANSWER]

    async def go(model, engine):
        return await model.score(QUESTION, options), await model.complete(QUESTION, max_tokens=30)

    scores, completed = run(with_model("batching", loaded, go))
    assert completed == ANSWER
    assert len(scores) == len(options) and all(isinstance(s, float) and s < 0 for s in scores)
    # Without the end-of-turn token the prefix would score at least as high as the full reply (fewer
    # log-probabilities, each <= 0): the reply outranking it shows the end of the turn is counted.
    assert max(range(len(options)), key=scores.__getitem__) == len(options) - 1
    assert scores[-1] > scores[0] + 1.0

    # And the number is one forward pass over the rendered conversation, through <|im_end|>.
    full = loaded.chat_prompt(QUESTION + [{"role": "assistant", "content": ANSWER}], add_generation_prompt=False)
    ids = tok(full.rstrip("\n"), add_special_tokens=False)["input_ids"]
    n_prompt = len(chat_ids(loaded, QUESTION))
    with torch.no_grad():
        logp = torch.log_softmax(loaded.model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
    want = sum(float(logp[i - 1, ids[i]]) for i in range(n_prompt, len(ids)))
    assert scores[-1] == pytest.approx(want, abs=1e-4)
