"""`tunelab scratch generate PROMPT` and `tunelab scratch chat`: the from-scratch model (tunelab/scratch)
answers, optionally with a registered LoRA adapter. Its text goes to stdout exactly as `tunelab
generate` would print it; its speed, and the engine's on the same prompt, go to stderr."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Annotated

import torch
import typer

from tunelab.adapters import AdapterRegistry
from tunelab.cli.chat import HELP, ChatSession
from tunelab.cli.common import console, console_err, load, settings, store
from tunelab.cli.errors import user_errors
from tunelab.cli.generate import MaxTokensOpt, SeedOpt, TemperatureOpt, TopPOpt
from tunelab.engine.generation import GenerationResult, SamplingParams, stream_text
from tunelab.models.loader import LoadedModel
from tunelab.models.peft_loading import attach_adapters
from tunelab.scratch.generate import GenerationStats
from tunelab.scratch.generate import stream_text as scratch_stream
from tunelab.scratch.load import ScratchLoaded, adapter_folder, load_scratch
from tunelab.scratch.lora import load_peft_adapter

app = typer.Typer(help="The transformer written from scratch (tunelab/scratch): generate and chat with it, "
                       "and see its speed next to the engine's.", no_args_is_help=True)

ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Catalogue model name (default: the adapter's base model, else the default model).")]
AdapterOpt = Annotated[str | None, typer.Option("--adapter", "-a", help="A registered LoRA adapter to load into the scratch model.")]
CompareOpt = Annotated[bool, typer.Option("--compare/--no-compare", help="Also run the engine on the same prompt and print both speeds.")]


@dataclass
class Pair:
    """The scratch model and, loaded when first needed, the engine's model with the same adapter."""

    scratch: ScratchLoaded
    model_name: str
    adapter_path: str | None
    engine: LoadedModel | None = None

    def engine_model(self) -> LoadedModel:
        if self.engine is None:
            loaded = load(self.model_name)
            if self.adapter_path is not None:
                peft = attach_adapters(loaded, {"adapter": self.adapter_path})
                loaded = LoadedModel(spec=loaded.spec, model=peft, tokenizer=loaded.tokenizer, path=loaded.path,
                                     device=loaded.device)
            with torch.inference_mode():  # one small pass first: one-time set-up costs stay out of the timing
                loaded.model(input_ids=torch.tensor([[0]], device=loaded.device))
            self.engine = loaded
        return self.engine


def load_pair(model: str | None, adapter: str | None) -> Pair:
    path = None
    if adapter is not None:
        folder, base = adapter_folder(AdapterRegistry(store(), settings()), adapter)
        if model is not None and model != base:
            raise ValueError(f"Adapter '{adapter}' was trained on base model '{base}', not '{model}'; "
                             f"leave out --model or pass --model {base}.")
        model, path = base, str(folder)
    name = model or settings().default_model
    scratch = load_scratch(name, settings(), store())
    if path is not None:
        load_peft_adapter(scratch.model, path)
    with torch.inference_mode():  # as for the engine: warm up before anything is timed
        scratch.model(torch.tensor([[0]], device=scratch.model.embed_tokens.weight.device))
    return Pair(scratch=scratch, model_name=name, adapter_path=path)


def run_scratch(pair: Pair, ids: list[int], params: SamplingParams) -> tuple[str, GenerationStats]:
    """Stream the scratch model's answer to stdout; return its text and speed."""
    stats, pieces = GenerationStats(), []
    s = pair.scratch
    for piece in scratch_stream(s.model, s.tokenizer, ids, stats=stats, max_tokens=params.max_tokens,
                                temperature=params.temperature, top_p=params.top_p, seed=params.seed,
                                eos_ids=s.eos_ids):
        pieces.append(piece)
        sys.stdout.write(piece)
        sys.stdout.flush()
    return "".join(pieces), stats


def engine_speed(pair: Pair, ids: list[int], params: SamplingParams) -> tuple[str, int, float]:
    """The engine's answer to the same prompt ids: (text, tokens, seconds)."""
    loaded, result = pair.engine_model(), GenerationResult()
    start = time.perf_counter()
    for _ in stream_text(loaded, ids, params, result):
        pass
    return result.text, len(result.token_ids), time.perf_counter() - start


def report(pair: Pair, ids: list[int], params: SamplingParams, text: str, stats: GenerationStats,
           with_engine: bool) -> None:
    """The scratch model's speed on stderr and, `with_engine`, the engine's on the same prompt under it."""
    console_err.print(f"scratch: {stats.new_tokens} tokens in {stats.seconds:.2f} s, "
                      f"{stats.tokens_per_s:.1f} tokens/s", markup=False)
    if not with_engine:
        return
    engine_text, tokens, seconds = engine_speed(pair, ids, params)
    same = "same text" if engine_text == text else "different text"
    console_err.print(f"engine:  {tokens} tokens in {seconds:.2f} s, {tokens / seconds if seconds else 0:.1f} "
                      f"tokens/s ({same})", markup=False)


@app.command("generate")
def generate(
    prompt: Annotated[str, typer.Argument(help="The prompt text.")],
    model: ModelOpt = None,
    adapter: AdapterOpt = None,
    max_tokens: MaxTokensOpt = 128,
    temperature: TemperatureOpt = 0.7,
    top_p: TopPOpt = 1.0,
    seed: SeedOpt = None,
    chat: Annotated[bool, typer.Option("--chat", help="Wrap the prompt as a user message in the chat template.")] = False,
    with_engine: CompareOpt = True,
) -> None:
    """Generate text from PROMPT with the scratch model (stdout as `tunelab generate` prints it)."""

    params = SamplingParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed)
    with user_errors():
        pair = load_pair(model, adapter)
    tok = pair.scratch.tokenizer
    if chat:
        ids = tok(pair.scratch.chat_prompt([{"role": "user", "content": prompt}]), add_special_tokens=False)["input_ids"]
    else:
        ids = tok(prompt)["input_ids"]
        sys.stdout.write(prompt)
    try:
        text, stats = run_scratch(pair, ids, params)
    except KeyboardInterrupt:
        console_err.print("\n[interrupted]", markup=False)
        return
    sys.stdout.write("\n")
    sys.stdout.flush()
    report(pair, ids, params, text, stats, with_engine)


@app.command("chat")
def chat(
    model: ModelOpt = None,
    adapter: AdapterOpt = None,
    system: Annotated[str | None, typer.Option(help="System prompt for the conversation.")] = None,
    max_tokens: MaxTokensOpt = 512,
    temperature: TemperatureOpt = 0.7,
    top_p: TopPOpt = 1.0,
    seed: SeedOpt = None,
    with_engine: CompareOpt = True,
) -> None:
    """Chat with the scratch model in the terminal (each answer's speed, and the engine's, on stderr)."""

    params = SamplingParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed)
    with user_errors():
        pair = load_pair(model, adapter)
    pair.scratch.chat_prompt([{"role": "user", "content": "hi"}])  # no template: fail now, not mid-chat
    session = ChatSession(system)
    console.print(f"Chatting with the scratch [bold]{pair.model_name}[/]"
                  f"{f' + {adapter}' if adapter else ''}. {HELP}")
    while session.next_message() is not None:
        tok = pair.scratch.tokenizer
        ids = tok(pair.scratch.chat_prompt(session.messages()), add_special_tokens=False)["input_ids"]
        sys.stdout.write("assistant> ")
        sys.stdout.flush()
        try:
            text, stats = run_scratch(pair, ids, params)
        except KeyboardInterrupt:
            sys.stdout.write("\n")
            console_err.print("[answer stopped]", markup=False)
            session.turns.pop()
            continue
        except ValueError as exc:  # context full: tell the user, keep the session
            session.turns.pop()
            console_err.print(f"\n[bold red]error:[/] {exc} Use /reset to start over.")
            continue
        sys.stdout.write("\n")
        sys.stdout.flush()
        session.turns.append({"role": "assistant", "content": text})
        report(pair, ids, params, text, stats, with_engine)
