"""The CLI as a user runs it: in-process with typer's runner for speed, and as a real subprocess."""

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tunelab.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def tunelab(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "tunelab", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_models_add_list_show_rm(home, tiny_model_dir):
    assert "smollm2-135m-instruct" in run("models", "list").output
    out = run("models", "add", "tiny", str(tiny_model_dir), "--description", "test model").output
    assert "Added tiny (folder" in out
    assert "tiny" in run("models", "list").output
    shown = run("models", "show", "tiny").output
    assert "kind:          folder" in shown and str(tiny_model_dir) in shown
    assert "not converted yet" in run("models", "show", "smollm2-135m-instruct").output
    assert "Removed tiny" in run("models", "rm", "tiny").output
    assert "tiny" not in run("models", "list").output


def test_generate_streams_deterministic_text(home, tiny_model_dir):
    run("models", "add", "tiny", str(tiny_model_dir))
    a = run("generate", "Hello", "-m", "tiny", "--max-tokens", "12", "--temperature", "1", "--seed", "5")
    b = run("generate", "Hello", "-m", "tiny", "--max-tokens", "12", "--temperature", "1", "--seed", "5")
    assert a.exit_code == 0 and a.output == b.output and a.output.startswith("Hello")
    c = run("generate", "Hello", "-m", "tiny", "--max-tokens", "12", "--chat", "--temperature", "0")
    assert c.exit_code == 0 and not c.output.startswith("Hello")


def test_bad_temperature_is_refused_before_loading(home):
    result = tunelab("generate", "hi", "--temperature", "5", "--model", "does-not-exist")
    assert result.returncode == 2
    assert "--temperature" in result.stderr and "Unknown model" not in result.stderr
    result = tunelab("generate", "hi", "--top-p", "0")
    assert result.returncode == 2 and "--top-p" in result.stderr


def test_errors_are_one_clear_line_not_a_traceback(home, tmp_path):
    result = tunelab("generate", "hi", "--model", "nope")
    assert result.returncode == 2
    assert "Unknown model 'nope'. Known models: smollm2-135m-instruct" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"\x00" * 64)
    result = tunelab("models", "add", "broken", str(bad))
    assert result.returncode == 2 and "is not a GGUF file" in result.stderr and "broken.gguf" in result.stderr


@pytest.mark.slow
def test_readme_main_job_prints_paris(default_home):
    result = tunelab("generate", "The capital of France is", "--max-tokens", "8", "--temperature", "0",
                     env={"TUNELAB_HOME": str(default_home)}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout


def test_generate_takes_an_adapter_name(home, tiny_model_dir, tmp_path):
    """An adapter name works where a model name does (generate and chat load through one helper): its
    base with the adapter on it, not merged,
    giving the engine's own tokens for that adapter (and not the base's)."""
    from serve_harness import make_lora

    from tunelab.adapters import AdapterRegistry
    from tunelab.cli.common import settings, store
    from tunelab.engine.generation import SamplingParams, stream_text
    from tunelab.models.loader import load_model
    from tunelab.models.peft_loading import attach_adapters

    run("models", "add", "tiny", str(tiny_model_dir))
    folder = make_lora(tiny_model_dir, tmp_path / "shop-lora", seed=3)
    AdapterRegistry(store(), settings()).register("shop-v1", kind="lora", path=folder, base_model="tiny")
    args = ["Hello", "--max-tokens", "10", "--temperature", "0"]
    with_adapter = run("generate", *args, "-m", "shop-v1")
    base = run("generate", *args, "-m", "tiny")
    assert with_adapter.exit_code == 0, with_adapter.output
    assert with_adapter.output != base.output
    loaded = load_model("tiny", settings(), store=store())
    loaded.model = attach_adapters(loaded, {"shop": folder})
    ids = loaded.tokenizer("Hello")["input_ids"]
    expected = "".join(stream_text(loaded, ids, SamplingParams(max_tokens=10, temperature=0.0)))
    assert with_adapter.output == "Hello" + expected + "\n"
    unknown = tunelab("generate", "hi", "--model", "shop-v2")
    assert unknown.returncode == 2 and "shop-v1 (adapter)" in " ".join(unknown.stderr.split())
