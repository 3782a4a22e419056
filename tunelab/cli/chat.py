"""`tunelab chat`: an interactive terminal chat with streaming answers.

Commands: /reset clears the history, /system TEXT sets the system prompt, /exit (or Ctrl-D) quits.
Ctrl-C while an answer streams stops that answer and keeps the session.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tunelab.cli.common import console, console_err, load
from tunelab.cli.generate import LoopGuardOpt, MaxTokensOpt, ModelOpt, SeedOpt, TemperatureOpt, TemplateOpt, TopPOpt
from tunelab.engine.generation import GenerationResult, SamplingParams, stream_text
from tunelab.models.catalogue import resolve_template_arg

HELP = "Commands: /reset  /system TEXT  /exit   (Ctrl-C stops an answer, Ctrl-D quits)"


class ChatSession:
    """History of one conversation; builds prompts and records answers."""

    def __init__(self, system: str | None = None) -> None:
        self.system = system
        self.turns: list[dict] = []

    def messages(self) -> list[dict]:
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + self.turns

    def reset(self) -> None:
        self.turns = []

    def next_message(self) -> str | None:
        """Read lines until the user sends a message (recorded as their turn and returned); the
        commands are handled here. None: the user quits (/exit or Ctrl-D)."""
        while True:
            try:
                line = input("you> ").strip()
            except EOFError:
                console.print()
                return None
            except KeyboardInterrupt:
                console.print("\n(type /exit or press Ctrl-D to quit)")
                continue
            if not line:
                continue
            if line == "/exit":
                return None
            if line == "/reset":
                self.reset()
                console.print("[history cleared]", markup=False)
            elif line == "/system" or line.startswith("/system "):
                self.system = line[len("/system"):].strip() or None
                self.reset()
                console.print(f"[system prompt {'set' if self.system else 'cleared'}; history cleared]", markup=False)
            elif line.startswith("/"):
                console.print(f"Unknown command {line.split()[0]}. {HELP}")
            else:
                self.turns.append({"role": "user", "content": line})
                return line


def chat(
    model: ModelOpt = None,
    system: Annotated[str | None, typer.Option(help="System prompt for the conversation.")] = None,
    max_tokens: MaxTokensOpt = 512,
    temperature: TemperatureOpt = 0.7,
    top_p: TopPOpt = 1.0,
    seed: SeedOpt = None,
    chat_template: TemplateOpt = None,
    loop_guard: LoopGuardOpt = True,
) -> None:
    """Chat with a model in the terminal."""

    params = SamplingParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed,
                            loop_guard=loop_guard)
    template = resolve_template_arg(chat_template)
    loaded = load(model)
    loaded.chat_prompt([{"role": "user", "content": "hi"}], template)  # no template: fail now, not mid-chat
    session = ChatSession(system)
    console.print(f"Chatting with [bold]{loaded.name}[/]. {HELP}")
    while session.next_message() is not None:
        ids = loaded.tokenizer(loaded.chat_prompt(session.messages(), template), add_special_tokens=False)["input_ids"]
        result = GenerationResult()
        sys.stdout.write("assistant> ")
        sys.stdout.flush()
        try:
            for piece in stream_text(loaded, ids, params, result):
                sys.stdout.write(piece)
                sys.stdout.flush()
            sys.stdout.write("\n")
        except KeyboardInterrupt:
            sys.stdout.write("\n")
            console_err.print("[answer stopped]", markup=False)
        except ValueError as exc:  # context full: tell the user, keep the session
            session.turns.pop()
            console_err.print(f"\n[bold red]error:[/] {exc} Use /reset to start over.")
            continue
        session.turns.append({"role": "assistant", "content": result.text})
