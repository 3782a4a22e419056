"""Loops and penalties in the decode core: the loop guard finds a block repeated three times in a
row (and nothing rarer), ends a looping generation with finish_reason "stop" the third time round,
and leaves it alone when turned off; a JSON string that loops is closed there; OpenAI's frequency and presence
penalties change the logits as defined and reach the engine from a request."""

from __future__ import annotations

import json
from collections import Counter

import torch

from tunelab.engine.constraints import ConstraintBackend
from tunelab.engine.decode import Decoding
from tunelab.engine.generation import SamplingParams, generate_text
from tunelab.engine.repetition import LoopGuard, apply_penalties
from tunelab.engine.types import Constraint, GenRequest
from tunelab.serve.protocol.requests import ChatCompletionRequest


def test_the_guard_finds_a_block_repeated_three_times():
    guard = LoopGuard()
    block = list(range(100, 110))  # 10 tokens
    assert guard.looping([1, 2, 3] + block * 3)
    assert not guard.looping([1, 2, 3] + block * 2)  # twice is not a loop yet
    assert not guard.looping([5, 6, 7, 8] * 5)  # a short block counts once it fills 3 x 8 tokens...
    assert guard.looping([5, 6, 7, 8] * 6) and guard.looping([7] * 24)
    assert not guard.looping(block * 3 + [1])  # the loop must be at the end
    assert not guard.looping([])


def test_penalties_follow_openais_definition():
    logits = torch.zeros(1, 6)
    out = apply_penalties(logits, Counter({2: 3, 4: 1}), frequency=0.5, presence=0.25)
    assert out.tolist() == [[0.0, 0.0, -1.75, 0.0, -0.75, 0.0]]
    assert logits.abs().sum() == 0  # the input is left as it was
    assert apply_penalties(logits, Counter(), 1.0, 1.0) is logits


def cycle_run(tiny, params: SamplingParams, period: int = 10) -> Decoding:
    """Decode with logits that always make the next token the one after the last in a cycle of
    `period` tokens (a model stuck in a loop, without its noise), until the sequence ends."""
    req = GenRequest(request_id="loop", prompt_ids=[5, 6, 7], params=params)
    seq = Decoding(req, tiny.tokenizer, tiny.eos_token_ids, context=tiny.context_length)
    nxt = 100
    while seq.finish is None:
        logits = torch.zeros(1, len(tiny.tokenizer))
        logits[0, nxt] = 10.0
        seq.step(logits)
        nxt = 100 + (seq.last - 100 + 1) % period
    return seq


def test_a_looping_generation_stops_early_unless_the_guard_is_off(tiny):
    on = cycle_run(tiny, SamplingParams(temperature=0, max_tokens=200))
    off = cycle_run(tiny, SamplingParams(temperature=0, max_tokens=200, loop_guard=False))
    assert off.finish == "length" and len(off.token_ids) == 200
    assert on.finish == "stop" and len(on.token_ids) == 30  # the third time round ends it
    assert off.token_ids[:30] == on.token_ids
    # A guide that cannot be closed early (no closing plan) is left to its grammar.
    assert Decoding(GenRequest(request_id="c", prompt_ids=[1], params=SamplingParams()), tiny.tokenizer,
                    tiny.eos_token_ids, context=64, guide=object())._loops is None


def test_a_json_string_that_loops_is_closed_not_run_to_max_tokens(tiny):
    """The way a small model loops under a JSON schema: the same words again and again inside the
    answer string. The guard sees it and the closing plan completes the object there."""
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
              "additionalProperties": False}
    backend = ConstraintBackend.for_model(tiny)
    loop = tiny.tokenizer(" the answer is yes,", add_special_tokens=False)["input_ids"]
    opening = tiny.tokenizer('{"answer": "', add_special_tokens=False)["input_ids"]

    def run(guard: bool) -> Decoding:
        req = GenRequest(request_id="j", prompt_ids=[5, 6, 7],
                         params=SamplingParams(temperature=0, max_tokens=300, loop_guard=guard))
        seq = Decoding(req, tiny.tokenizer, tiny.eos_token_ids, context=tiny.context_length,
                       guide=backend.matcher(Constraint("json_schema", schema=schema)))
        wanted = opening + loop * 100
        while seq.finish is None:
            logits = torch.zeros(1, len(tiny.tokenizer))
            logits[0, wanted[len(seq.token_ids)]] = 50.0  # the model's choice, if the grammar allows it
            seq.step(logits)
        return seq

    on, off = run(True), run(False)
    assert off.finish == "stop" and len(off.token_ids) > 250  # only the budget's closing plan ends it
    assert on.finish == "stop" and len(on.token_ids) < len(opening) + 4 * len(loop) + 16
    answer = json.loads(on.text)["answer"]
    assert answer.count("the answer is yes") >= 2 and answer.count("the answer is yes") < 6


def looping_prompt(loaded) -> list[int]:
    return loaded.tokenizer("the the the the")["input_ids"]


def test_a_presence_penalty_changes_a_greedy_generation(tiny):
    plain = generate_text(tiny, looping_prompt(tiny), SamplingParams(temperature=0, max_tokens=30, loop_guard=False))
    pushed = generate_text(tiny, looping_prompt(tiny), SamplingParams(temperature=0, max_tokens=30, loop_guard=False,
                                                                      presence_penalty=2.0))
    assert plain.text != pushed.text


def test_requests_carry_the_penalties_and_the_guard():
    req = ChatCompletionRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "hi"}],
                                                "frequency_penalty": 0.3, "presence_penalty": -0.2,
                                                "tunelab_loop_guard": False})
    params = req.to_sampling(default_max_tokens=10)
    assert (params.frequency_penalty, params.presence_penalty, params.loop_guard) == (0.3, -0.2, False)
    assert ChatCompletionRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "hi"}]}
                                                ).to_sampling(default_max_tokens=1).loop_guard is True
