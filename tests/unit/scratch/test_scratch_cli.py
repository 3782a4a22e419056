"""`tunelab scratch generate` and `tunelab scratch chat` on the tiny model: stdout is what `tunelab
generate` prints for the same arguments; stderr has the scratch model's speed and the engine's;
--adapter loads a registered LoRA adapter; mistakes are one clear line."""

import pytest
from typer.testing import CliRunner

from tunelab.adapters import AdapterRegistry
from tunelab.cli import app
from tunelab.models.catalogue import Catalogue

runner = CliRunner()


def run(*args, **kw):
    return runner.invoke(app, list(args), catch_exceptions=False, **kw)


@pytest.fixture
def registered(home, store, settings, tiny_model_dir, peft_adapter_dir):
    Catalogue(store).add("tiny", str(tiny_model_dir))
    AdapterRegistry(store, settings).register("shop", kind="lora", path=peft_adapter_dir, base_model="tiny")


@pytest.mark.parametrize("sampling", [["--temperature", "0"], ["--temperature", "1", "--seed", "5", "--top-p", "0.9"]])
def test_generate_prints_what_tunelab_generate_prints(registered, sampling):
    args = ["Hello", "-m", "tiny", "--max-tokens", "12", *sampling]
    ours, engine = run("scratch", "generate", *args), run("generate", *args)
    assert ours.exit_code == 0 and ours.stdout == engine.stdout and ours.stdout.startswith("Hello")
    lines = ours.stderr.splitlines()
    assert lines[0].startswith("scratch: 12 tokens in ") and lines[0].endswith(" tokens/s")
    assert lines[1].startswith("engine:  12 tokens in ") and lines[1].endswith("tokens/s (same text)")
    chat = run("scratch", "generate", "Hello", "-m", "tiny", "--max-tokens", "6", "--temperature", "0", "--chat",
               "--no-compare")
    assert chat.stdout == run("generate", "Hello", "-m", "tiny", "--max-tokens", "6", "--temperature", "0",
                              "--chat").stdout
    assert "engine:" not in chat.stderr


def test_adapter_changes_the_answer_and_the_engine_agrees(registered):
    args = ["Wireless earbuds", "--max-tokens", "12", "--temperature", "0"]
    tuned, base = run("scratch", "generate", *args, "--adapter", "shop"), run("scratch", "generate", *args, "-m", "tiny")
    assert tuned.exit_code == 0 and tuned.stdout != base.stdout  # the adapter's base model, tiny, was picked
    assert "(same text)" in tuned.stderr


def test_chat_answers_each_turn_with_speeds(registered):
    out = run("scratch", "chat", "--adapter", "shop", "--max-tokens", "5", "--temperature", "0",
              "--system", "Be brief.", input="Hello!\n/reset\nWhat is the capital of France?\n/exit\n")
    assert out.exit_code == 0, out.output
    assert "Chatting with the scratch tiny + shop" in out.stdout
    assert out.stdout.count("assistant> ") == 2 and "[history cleared]" in out.stdout
    assert out.stderr.count("scratch: ") == 2 and out.stderr.count("(same text)") == 2


def test_mistakes_are_one_line(registered):
    wrong = run("scratch", "generate", "hi", "--adapter", "shop", "-m", "smollm2-135m-instruct")
    assert wrong.exit_code == 2 and "trained on base model 'tiny'" in wrong.stderr
    unknown = run("scratch", "generate", "hi", "--adapter", "nope")
    assert unknown.exit_code == 2 and "Unknown adapter 'nope'. Known adapters: shop" in " ".join(unknown.stderr.split())
