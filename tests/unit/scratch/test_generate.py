"""Generation with the scratch model: greedy gives transformers' tokens and the engine's; seeded
sampling gives the engine's tokens; an end-of-sequence token and max_tokens end it."""

import pytest
import torch

from tunelab.engine.generation import SamplingParams, generate_text
from tunelab.scratch.generate import GenerationStats, generate_ids, stream_text, token_budget

PROMPTS = ["The quick brown fox", "Stainless steel water bottle, 750 ml"]


def test_greedy_tokens_match_transformers_generate(tiny_scratch, tiny_hf, tiny_tokenizer):
    for prompt in PROMPTS:
        ids = tiny_tokenizer(prompt)["input_ids"]
        out = tiny_hf.generate(torch.tensor([ids]), max_new_tokens=16, do_sample=False, eos_token_id=None,
                               pad_token_id=0)
        assert list(generate_ids(tiny_scratch, ids, max_tokens=16)) == out[0, len(ids):].tolist()


@pytest.mark.parametrize("temperature, top_p, seed", [(0.0, 1.0, None), (1.0, 1.0, 3), (0.8, 0.9, 17)])
def test_same_tokens_and_text_as_the_engine(tiny, tiny_scratch, temperature, top_p, seed):
    for prompt in PROMPTS:
        ids = tiny.tokenizer(prompt)["input_ids"]
        engine = generate_text(tiny, ids, SamplingParams(max_tokens=16, temperature=temperature, top_p=top_p,
                                                         seed=seed))
        stats = GenerationStats()
        text = "".join(stream_text(tiny_scratch, tiny.tokenizer, ids, stats=stats, max_tokens=16,
                                   temperature=temperature, top_p=top_p, seed=seed, eos_ids=tiny.eos_token_ids))
        assert stats.token_ids == engine.token_ids and text == engine.text
        assert stats.finish_reason == engine.finish_reason


def test_eos_ends_generation_and_is_not_yielded(tiny_scratch, tiny_tokenizer):
    ids = tiny_tokenizer("The quick brown fox")["input_ids"]
    free = list(generate_ids(tiny_scratch, ids, max_tokens=10))
    stats = GenerationStats()
    stopped = list(generate_ids(tiny_scratch, ids, max_tokens=10, eos_ids={free[3]}, stats=stats))
    assert stopped == free[:free.index(free[3])] and stats.finish_reason == "stop"
    assert stats.prompt_tokens == len(ids) and stats.token_ids == stopped and stats.new_tokens == len(stopped)
    assert stats.tokens_per_s > 0


def test_budget_is_max_tokens_or_the_rest_of_the_context():
    assert token_budget(10, 128, 4096) == 128 and token_budget(4090, 128, 4096) == 6
    with pytest.raises(ValueError, match="context is 4096"):
        token_budget(4096, 1, 4096)
    with pytest.raises(ValueError, match="empty"):
        token_budget(0, 1, 4096)
