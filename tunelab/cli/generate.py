"""`tunelab generate PROMPT`: stream one completion to the terminal."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tunelab.cli.common import console_err, load
from tunelab.engine.generation import SamplingParams, stream_text
from tunelab.models.catalogue import resolve_template_arg

ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Catalogue model, or a registered LoRA adapter (on its base model, not merged); default: the default model.")]
MaxTokensOpt = Annotated[int, typer.Option(min=1, help="Maximum tokens to generate.")]
TemperatureOpt = Annotated[float, typer.Option(min=0.0, max=2.0, help="0 is greedy; up to 2.")]


def _top_p(value: float) -> float:
    if not 0.0 < value <= 1.0:
        raise typer.BadParameter(f"{value} is not in (0, 1].")
    return value


TopPOpt = Annotated[float, typer.Option(callback=_top_p, help="Nucleus sampling mass, in (0, 1].")]
SeedOpt = Annotated[int | None, typer.Option(help="Sampling seed: same seed, same text.")]
LoopGuardOpt = Annotated[bool, typer.Option(help="End the output once it repeats one block of text over and over "
                                                  "(small models loop); --no-loop-guard lets it run to --max-tokens.")]
TemplateOpt = Annotated[str | None, typer.Option(help="Chat template to use instead of the model's own: chatml, zephyr, llama3 or a Jinja file.")]


def generate(
    prompt: Annotated[str, typer.Argument(help="The prompt text.")],
    model: ModelOpt = None,
    max_tokens: MaxTokensOpt = 128,
    temperature: TemperatureOpt = 0.7,
    top_p: TopPOpt = 1.0,
    seed: SeedOpt = None,
    chat: Annotated[bool, typer.Option("--chat", help="Wrap the prompt as a user message in the chat template.")] = False,
    chat_template: TemplateOpt = None,
    loop_guard: LoopGuardOpt = True,
) -> None:
    """Generate text from PROMPT, streaming tokens as they come."""

    params = SamplingParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed,
                            loop_guard=loop_guard)
    template = resolve_template_arg(chat_template)
    loaded = load(model)
    if chat:
        text = loaded.chat_prompt([{"role": "user", "content": prompt}], template)
        ids = loaded.tokenizer(text, add_special_tokens=False)["input_ids"]
    else:
        ids = loaded.tokenizer(prompt)["input_ids"]
        sys.stdout.write(prompt)
    try:
        for piece in stream_text(loaded, ids, params):
            sys.stdout.write(piece)
            sys.stdout.flush()
    except KeyboardInterrupt:
        console_err.print("\n[interrupted]", markup=False)
    sys.stdout.write("\n")
