"""The packaged default model: GGUF converted once, reused after, same greedy output as the GGUF."""

import json
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from tunelab.engine.generation import SamplingParams, generate_text
from tunelab.models import convert
from tunelab.models.loader import load_model
from tunelab.models.packaged import smollm2_gguf
from tunelab.settings import Settings

pytestmark = pytest.mark.slow


def test_conversion_writes_a_plain_safetensors_folder(default_model, default_home):
    folder = default_home / "models" / "smollm2-135m-instruct"
    assert default_model.path == str(folder)
    assert (folder / "model.safetensors").is_file()
    marker = json.loads((folder / convert.MARKER).read_text())
    assert marker["gguf"] == str(smollm2_gguf())
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config
    assert not list(default_home.glob("models/.*partial"))  # nothing half-written left behind


def test_second_load_reuses_the_folder(default_model, default_home, monkeypatch):
    folder = default_home / "models" / "smollm2-135m-instruct"
    mtime = (folder / "model.safetensors").stat().st_mtime_ns

    def must_not_convert(*a, **k):
        raise AssertionError("converted again")

    monkeypatch.setattr(convert, "_convert", must_not_convert)
    start = time.monotonic()
    again = load_model("smollm2-135m-instruct", Settings(home=default_home))
    assert time.monotonic() - start < 15
    assert (folder / "model.safetensors").stat().st_mtime_ns == mtime
    prompt = again.tokenizer("The capital of France is")["input_ids"]
    greedy = SamplingParams(max_tokens=8, temperature=0)
    assert generate_text(again, prompt, greedy).text == generate_text(default_model, prompt, greedy).text


def test_converted_model_matches_the_gguf(default_model):
    from transformers import AutoModelForCausalLM

    gguf = smollm2_gguf()
    direct = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32).eval()
    ids = torch.tensor([default_model.tokenizer("The capital of France is")["input_ids"]])
    with torch.inference_mode():
        a = direct.generate(ids, max_new_tokens=12, do_sample=False)
        b = default_model.model.generate(ids, max_new_tokens=12, do_sample=False)
        assert torch.allclose(direct(ids).logits, default_model.model(ids).logits, atol=1e-4)
    assert a.tolist() == b.tolist()


def test_default_model_knows_paris(default_model):
    prompt = default_model.tokenizer("The capital of France is")["input_ids"]
    assert "Paris" in generate_text(default_model, prompt, SamplingParams(max_tokens=8, temperature=0)).text


def test_chat_template_comes_from_the_model(default_model):
    text = default_model.chat_prompt([{"role": "user", "content": "Hi"}])
    assert text.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")


SCRIPT = textwrap.dedent("""
    import sys
    from tunelab.models import convert
    from tunelab.models.packaged import smollm2_gguf
    real = convert._convert
    def counted(*a, **k):
        print("CONVERTED", flush=True)
        return real(*a, **k)
    convert._convert = counted
    convert.ensure_converted(smollm2_gguf(), __import__("pathlib").Path(sys.argv[1]))
    print("DONE", flush=True)
""")


def test_two_processes_converting_at_once_convert_once(tmp_path):
    target = tmp_path / "models" / "smollm2"
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(target)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sum(o.count("CONVERTED") for o in outs) == 1
    assert all("DONE" in o for o in outs)
    assert convert.is_converted(target, smollm2_gguf())


def test_killed_conversion_leaves_no_folder_that_counts(tmp_path):
    target = tmp_path / "models" / "smollm2"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(target)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout.readline().strip() == "CONVERTED"
    time.sleep(3)
    proc.kill()
    proc.wait()
    assert not target.exists()
    assert not convert.is_converted(target, smollm2_gguf())
    assert list(target.parent.glob(".smollm2.*.partial"))  # the killed one's leftovers...
    convert.ensure_converted(smollm2_gguf(), target)
    assert convert.is_converted(target, smollm2_gguf())
    assert not list(target.parent.glob(".smollm2.*.partial"))  # ...are cleared by the next conversion
