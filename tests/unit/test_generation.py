import pytest
import torch

from tunelab.engine.detokenize import IncrementalDecoder
from tunelab.engine.generation import generate_text, stream_text
from tunelab.engine.sampling import SamplingParams, sample_next


def test_greedy_matches_transformers_generate(tiny):
    ids = tiny.tokenizer("The quick brown fox")["input_ids"]
    ours = generate_text(tiny, ids, SamplingParams(max_tokens=20, temperature=0))
    ref = tiny.model.generate(torch.tensor([ids]), max_new_tokens=20, do_sample=False,
                              eos_token_id=list(tiny.eos_token_ids), pad_token_id=tiny.tokenizer.pad_token_id)
    assert ours.token_ids == ref[0, len(ids):].tolist()[: len(ours.token_ids)]
    assert len(ours.token_ids) == 20 and ours.finish_reason == "length"


def test_same_seed_same_text_other_seed_other_text(tiny):
    ids = tiny.tokenizer("Hello")["input_ids"]
    run = lambda seed: generate_text(tiny, ids, SamplingParams(max_tokens=30, temperature=1.0, seed=seed))  # noqa: E731
    assert run(7).token_ids == run(7).token_ids
    assert run(7).token_ids != run(8).token_ids


def test_stream_pieces_join_to_the_full_decode(tiny):
    ids = tiny.tokenizer("Café")["input_ids"]
    pieces = list(stream_text(tiny, ids, SamplingParams(max_tokens=40, temperature=1.0, seed=3)))
    result = generate_text(tiny, ids, SamplingParams(max_tokens=40, temperature=1.0, seed=3))
    assert "".join(pieces) == result.text
    assert result.text == tiny.tokenizer.decode(result.token_ids, skip_special_tokens=True).rstrip("\ufffd")


def test_stop_string_cuts_the_text(tiny):
    ids = tiny.tokenizer("The")["input_ids"]
    full = generate_text(tiny, ids, SamplingParams(max_tokens=40, temperature=0))
    stop = full.text[5:8]
    cut = generate_text(tiny, ids, SamplingParams(max_tokens=40, temperature=0, stop=[stop]))
    assert cut.finish_reason == "stop"
    assert cut.text == full.text[: full.text.find(stop)]


def test_prompt_longer_than_context_is_refused(tiny):
    with pytest.raises(ValueError, match="context is 4096"):
        generate_text(tiny, [5] * 4096, SamplingParams(max_tokens=1))


def test_incremental_decoder_never_splits_characters(tiny):
    text = "naïve 東京 🙂 brûlée"
    ids = tiny.tokenizer(text, add_special_tokens=False)["input_ids"]
    dec = IncrementalDecoder(tiny.tokenizer)
    pieces = [dec.push(i) for i in ids]
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)


def test_sample_next_greedy_and_top_p():
    logits = torch.tensor([[0.0, 3.0, 2.9, -5.0]])
    assert sample_next(logits, SamplingParams(temperature=0), None).item() == 1
    # top_p small enough that only the best token survives: always index 1
    g = torch.Generator().manual_seed(0)
    draws = {sample_next(logits, SamplingParams(temperature=1.0, top_p=0.3), g).item() for _ in range(50)}
    assert draws == {1}
    # top_p = 0.9 keeps tokens 1 and 2 (masses ~0.50 and ~0.46 > 0.9 together), never 0 or 3
    draws = {sample_next(logits, SamplingParams(temperature=1.0, top_p=0.9), g).item() for _ in range(200)}
    assert draws == {1, 2}


def test_sampling_params_refuse_bad_values():
    for bad in ({"temperature": -0.1}, {"temperature": 2.5}, {"top_p": 0.0}, {"top_p": 1.5}, {"max_tokens": 0}):
        with pytest.raises(ValueError):
            SamplingParams(**bad)
