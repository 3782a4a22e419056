"""Sampling: greedy is argmax, top-p keeps the smallest likely set, a seed repeats a draw, and the
rule is the engine's (same seed, same tokens)."""

import pytest
import torch

from tunelab.engine.sampling import SamplingParams, sample_next
from tunelab.scratch.sampling import make_generator, sample, top_p_filter


def test_greedy_is_argmax():
    logits = torch.tensor([[0.1, 3.0, -1.0], [5.0, 4.9, 0.0]])
    assert sample(logits, temperature=0).tolist() == [1, 0]


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = torch.tensor([[0.5, 0.0625, 0.25, 0.1875]])  # exact in binary
    assert top_p_filter(probs, 0.75).tolist() == [[0.5, 0.0, 0.25, 0.0]]  # 0.5 + 0.25 reaches 0.75
    assert top_p_filter(probs, 0.76).tolist() == [[0.5, 0.0, 0.25, 0.1875]]
    assert top_p_filter(probs, 1e-6).tolist() == [[0.5, 0.0, 0.0, 0.0]]  # the top token always stays
    logits = torch.log(probs)
    draws = {int(sample(logits, 1.0, 0.75, make_generator(s))[0]) for s in range(50)}
    assert draws == {0, 2}


def test_same_seed_same_draws_and_temperature_flattens():
    logits = torch.randn(1, 50, generator=torch.Generator().manual_seed(0)) * 3
    draw = lambda seed, t: [int(sample(logits, t, 1.0, g)[0]) for g in [make_generator(seed)] for _ in range(30)]
    assert draw(1, 1.0) == draw(1, 1.0) and draw(1, 1.0) != draw(2, 1.0)
    assert len(set(draw(1, 2.0))) > len(set(draw(1, 0.3)))


@pytest.mark.parametrize("temperature, top_p", [(0.7, 1.0), (1.3, 0.9)])
def test_same_tokens_as_the_engine_with_the_same_seed(temperature, top_p):
    logits = torch.randn(1, 400, generator=torch.Generator().manual_seed(3)) * 2
    params = SamplingParams(temperature=temperature, top_p=top_p, seed=11)
    g_ours, g_engine = make_generator(11), torch.Generator().manual_seed(11)
    ours = [int(sample(logits, temperature, top_p, g_ours)[0]) for _ in range(40)]
    engine = [int(sample_next(logits, params, g_engine)[0]) for _ in range(40)]
    assert ours == engine


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="top_p"):
        sample(torch.zeros(1, 3), 1.0, 0.0)
