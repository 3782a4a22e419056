"""`tunelab chat` driven through a real pseudo-terminal, as a person would use it."""

import os
import sys
import time

import pexpect
import pytest

from tunelab.engine.generation import SamplingParams, generate_text


def spawn_chat(home, max_tokens):
    child = pexpect.spawn(
        sys.executable, ["-m", "tunelab", "chat", "-m", "tiny", "--temperature", "0", "--max-tokens", str(max_tokens),
         "--no-loop-guard"],
        env={**os.environ, "TUNELAB_HOME": str(home), "COLUMNS": "200"}, encoding="utf-8", timeout=60,
    )
    child.expect("Chatting with .*tiny")
    child.expect("you> ")
    return child


@pytest.fixture
def chat(home, tiny):  # `tiny` registers the tiny model in this home
    child = spawn_chat(home, 4000)
    yield child
    child.close(force=True)


def test_chat_session_commands_and_ctrl_c(chat):
    chat.sendline("Hello there")
    chat.expect("assistant> ")
    time.sleep(0.5)  # let it stream a while: the tiny model's greedy answer runs to 4000 tokens
    chat.sendintr()  # Ctrl-C: stops this answer only
    chat.expect(r"\[answer stopped\]")
    chat.expect("you> ")
    assert chat.isalive()

    chat.sendline("/system Be brief.")
    chat.expect(r"system prompt set; history cleared")
    chat.expect("you> ")
    chat.sendline("/reset")
    chat.expect(r"\[history cleared\]")
    chat.expect("you> ")
    chat.sendline("/bogus")
    chat.expect("Unknown command /bogus")
    chat.expect("you> ")
    chat.sendline("/exit")
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0


def test_ctrl_c_at_the_prompt_keeps_the_session_and_ctrl_d_quits(chat):
    chat.sendintr()
    chat.expect("type /exit")
    chat.expect("you> ")
    chat.sendeof()
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0


def answer(child, line):
    child.sendline(line)
    child.expect("assistant> ")
    child.expect("you> ", timeout=120)
    return child.before.replace("\r\n", "\n").rstrip("\n")


def test_answers_stream_and_history_is_kept(home, tiny):
    # Each streamed answer equals a direct generation from the whole conversation so far.
    params = SamplingParams(max_tokens=20, temperature=0)
    expect = lambda msgs: generate_text(  # noqa: E731
        tiny, tiny.tokenizer(tiny.chat_prompt(msgs), add_special_tokens=False)["input_ids"], params).text.rstrip("\n")
    child = spawn_chat(home, 20)
    try:
        history = [{"role": "user", "content": "The quick brown fox"}]
        first = answer(child, "The quick brown fox")
        assert first == expect(history)
        history += [{"role": "assistant", "content": first}, {"role": "user", "content": "Hello"}]
        second = answer(child, "Hello")
        assert second == expect(history)
        assert second != expect([{"role": "user", "content": "Hello"}])  # the first turn mattered
    finally:
        child.close(force=True)
