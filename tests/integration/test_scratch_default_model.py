"""The scratch model on the packaged SmolLM2-135M-Instruct: its logits are transformers' within 1e-4
(fp32), greedy generation gives the engine's tokens, and `tunelab scratch generate` prints what
`tunelab generate` prints, through the real command line."""

import os
import subprocess
import sys

import pytest
import torch

from tunelab.engine.generation import SamplingParams, generate_text
from tunelab.scratch.generate import generate_ids
from tunelab.scratch.load import load_scratch
from tunelab.settings import Settings
from tunelab.store import Store

pytestmark = pytest.mark.slow
PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def scratch(default_home, default_model):  # default_model first: it converts the GGUF once
    settings = Settings(home=default_home)
    store = Store(settings)
    yield load_scratch("smollm2-135m-instruct", settings, store)
    store.dispose()


def test_logits_match_transformers_within_1e_4(scratch, default_model):
    from transformers import AutoModelForCausalLM

    eager = AutoModelForCausalLM.from_pretrained(default_model.path, dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    tok = scratch.tokenizer
    long = tok("Wireless earbuds with noise cancelling and a charging case. " * 8)["input_ids"]
    with torch.no_grad():
        for ids in (tok(PROMPT)["input_ids"], long):
            x = torch.tensor([ids])
            ours = scratch.model(x)
            assert ours.shape == (1, len(ids), 49152)
            assert (ours - eager(x).logits).abs().max() < 1e-4  # the same arithmetic as the eager reference
            # the engine's model (PyTorch's fused attention kernel) rounds differently, still within 1e-4
            assert (ours - default_model.model(x).logits).abs().max() < 1e-4
    assert scratch.model.lm_head is None  # tied: SmolLM2 scores tokens with its embedding matrix


@pytest.mark.parametrize("chat", [False, True])
def test_greedy_generation_gives_the_engines_tokens(scratch, default_model, chat):
    tok = scratch.tokenizer
    if chat:
        text = scratch.chat_prompt([{"role": "user", "content": "What is the capital of France?"}])
        ids = tok(text, add_special_tokens=False)["input_ids"]
    else:
        ids = tok(PROMPT)["input_ids"]
    engine = generate_text(default_model, ids, SamplingParams(max_tokens=16, temperature=0))
    ours = list(generate_ids(scratch.model, ids, max_tokens=16, eos_ids=scratch.eos_ids))
    assert ours == engine.token_ids and "Paris" in tok.decode(ours)


def test_scratch_generate_prints_what_tunelab_generate_prints(default_home, default_model):
    env = {**os.environ, "TUNELAB_HOME": str(default_home)}
    args = [PROMPT, "--max-tokens", "8", "--temperature", "0"]
    run = lambda *a: subprocess.run([sys.executable, "-m", "tunelab", *a], capture_output=True, text=True,
                                    timeout=300, env=env)
    ours, engine = run("scratch", "generate", *args), run("generate", *args)
    assert ours.returncode == 0 and engine.returncode == 0, ours.stderr + engine.stderr
    assert ours.stdout == engine.stdout and "Paris" in ours.stdout
    assert "scratch: 8 tokens in" in ours.stderr and "(same text)" in ours.stderr
