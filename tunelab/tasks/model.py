"""What a task function needs from a model, whatever serves it.

`TaskModel.complete` runs one chat turn, at temperature 0 unless asked otherwise (data generation
samples, seeded), optionally constrained (JSON schema, choice, regex); `TaskModel.score` gives the
log-likelihood of candidate replies (total, or per token with `mean`), or None where the backend
cannot (a remote API). Backends: `EngineTaskModel` (a local generation engine: the base
model or one of its adapters) and `UpstreamTaskModel` (any OpenAI-compatible server).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from functools import lru_cache
from typing import Any, Protocol

from tunelab.engine.sampling import SamplingParams
from tunelab.engine.types import Constraint, GenerationEngine, GenRequest, QueueFullError, ScoreRequest
from tunelab.models.loader import LoadedModel


class TaskModelError(RuntimeError):
    """The model behind a task failed (upstream error, engine error); the message says which model."""


class TaskModel(Protocol):
    name: str  # how reports and responses name it (base model name, adapter name, upstream/model)

    async def complete(self, messages: list[dict], *, max_tokens: int = 256,
                       constraint: Constraint | None = None, temperature: float = 0.0,
                       seed: int | None = None) -> str: ...

    async def score(self, messages: list[dict], options: list[str], *,
                    mean: bool = False) -> list[float] | None: ...


@lru_cache(maxsize=16)
def _longest_choice(tokenizer, choices: tuple[str, ...]) -> int:
    """Tokens in the longest choice, once per choice set (a taxonomy has thousands of paths, and the
    server builds a TaskModel per request)."""
    return max(len(tokenizer(c, add_special_tokens=False)["input_ids"]) for c in choices)


class EngineTaskModel:
    """A local model on a generation engine; `adapter` picks one of its LoRA adapters (None: the base).

    `score` returns each option's total log-probability as the assistant's whole reply, end-of-turn
    token included (so "Shoes" and "Shoes > Boots" are told apart); with `mean`, that total divided
    by the option's token count (a length-normalised log-likelihood: long and short replies compare). A full engine queue is waited out
    (a task run may send thousands of requests at once); other engine errors raise TaskModelError."""

    def __init__(self, engine: GenerationEngine, loaded: LoadedModel, *, adapter: str | None = None,
                 name: str | None = None) -> None:
        self.engine, self.loaded, self.adapter = engine, loaded, adapter
        self.name = name or adapter or loaded.name

    def prompt_ids(self, messages: list[dict]) -> list[int]:
        text = self.loaded.chat_prompt(messages)
        return self.loaded.tokenizer(text, add_special_tokens=False)["input_ids"]

    def option_ids(self, messages: list[dict], prompt_text: str, option: str) -> list[int]:
        """The tokens of `option` as the assistant's reply, through the end-of-turn token: the template's
        text after `prompt_text` (the generation prompt), cut after its first EOS-like token, which is
        where generation stops. A template without one, or one that rewrites earlier turns: the option
        alone, then the tokenizer's EOS."""
        tok, eos = self.loaded.tokenizer, self.loaded.eos_token_ids
        full = self.loaded.chat_prompt(messages + [{"role": "assistant", "content": option}],
                                       add_generation_prompt=False)
        if full.startswith(prompt_text):
            ids = tok(full[len(prompt_text):], add_special_tokens=False)["input_ids"]
            for i, t in enumerate(ids):
                if t in eos:
                    return ids[:i + 1]
            ids = tok(full[len(prompt_text):].rstrip(), add_special_tokens=False)["input_ids"]
        else:
            ids = tok(option, add_special_tokens=False)["input_ids"]
        end = tok.eos_token_id if tok.eos_token_id is not None else min(eos, default=None)
        return ids + ([end] if end is not None else [])

    async def complete(self, messages: list[dict], *, max_tokens: int = 256,
                       constraint: Constraint | None = None, temperature: float = 0.0,
                       seed: int | None = None) -> str:
        ids = self.prompt_ids(messages)
        if constraint is not None and constraint.kind == "choice" and constraint.choices:
            # The answer is a whole choice whatever max_tokens says: room for the longest one (and a few
            # tokens more, should the model spell it in smaller pieces), or it would come back cut.
            longest = _longest_choice(self.loaded.tokenizer, constraint.choices)
            max_tokens = max(max_tokens, longest + 8)
        room = self.loaded.context_length - len(ids)
        if room <= 0:
            raise TaskModelError(f"The prompt has {len(ids)} tokens; {self.name}'s context is "
                                 f"{self.loaded.context_length}. Shorten the input.")
        req = GenRequest(request_id=uuid.uuid4().hex[:16], prompt_ids=ids,
                         params=SamplingParams(temperature=temperature, seed=seed, max_tokens=min(max_tokens, room)),
                         adapter=self.adapter, constraint=constraint)
        while True:
            text, finish = [], None
            try:
                async for ev in self.engine.generate(req):
                    text.append(ev.text)
                    finish = ev.finish_reason or finish
                break
            except QueueFullError as exc:  # raised before anything was generated: wait for room
                await asyncio.sleep(exc.retry_after_s)
            except Exception as exc:
                raise TaskModelError(f"{self.name}: {exc}") from exc
        if finish == "abort":  # the engine stopped mid-way: the text is cut, not an answer
            raise TaskModelError(f"{self.name}: the generation was aborted (the engine stopped).")
        return "".join(text)

    async def score(self, messages: list[dict], options: list[str], *, mean: bool = False) -> list[float] | None:
        if not options:
            return []
        prompt_text = self.loaded.chat_prompt(messages)
        ids = self.loaded.tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
        opts = [self.option_ids(messages, prompt_text, o) for o in options]
        try:
            per_token = await self.engine.score(ScoreRequest(request_id=uuid.uuid4().hex[:16], prompt_ids=ids,
                                                             options=opts, adapter=self.adapter))
        except Exception as exc:  # e.g. an option that does not fit the context: the engine says which
            raise TaskModelError(f"{self.name}: {exc}") from exc
        return [float(sum(lp)) / (len(lp) if mean else 1) for lp in per_token]


WRAP_KEY = "value"  # choice/regex asked of a plain OpenAI server come back as {"value": "..."}


def response_format_for(constraint: Constraint | None, kind: str = "openai") -> dict[str, Any]:
    """OpenAI request fields that ask an upstream of `kind` for `constraint`. json_schema and
    json_object are OpenAI's own; a vLLM server takes choice and regex as guided_choice/guided_regex;
    elsewhere (OpenAI, Ollama, another TuneLab) they become a one-field JSON schema (enum or pattern)
    whose value `unwrap` takes out again."""
    if constraint is None:
        return {}
    if constraint.kind == "json_object":
        return {"response_format": {"type": "json_object"}}
    if constraint.kind == "json_schema":
        return {"response_format": {"type": "json_schema",
                                    "json_schema": {"name": "output", "schema": constraint.schema, "strict": True}}}
    if kind == "vllm":
        if constraint.kind == "choice":
            return {"guided_choice": list(constraint.choices)}
        return {"guided_regex": constraint.pattern}
    value = {"type": "string", "enum": list(constraint.choices)} if constraint.kind == "choice" else \
        {"type": "string", "pattern": constraint.pattern}
    schema = {"type": "object", "properties": {WRAP_KEY: value}, "required": [WRAP_KEY], "additionalProperties": False}
    return {"response_format": {"type": "json_schema", "json_schema": {"name": constraint.kind, "schema": schema,
                                                                       "strict": True}}}


def unwrap(text: str, constraint: Constraint | None, kind: str = "openai") -> str:
    """The answer inside a wrapped choice/regex reply (see `response_format_for`); the text as it is
    when it was not wrapped or is not the expected JSON (the caller validates it)."""
    if constraint is None or constraint.kind not in ("choice", "regex") or kind == "vllm":
        return text
    try:
        value = json.loads(text)[WRAP_KEY]
    except (ValueError, KeyError, TypeError):
        return text
    return value if isinstance(value, str) else text


class UpstreamTaskModel:
    """A model on an OpenAI-compatible server (vLLM, OpenAI, Ollama, another TuneLab): `complete`
    posts /v1/chat/completions (temperature 0 unless asked otherwise); `score` is None (no prompt log-probabilities)."""

    def __init__(self, client, upstream, remote_model: str, *, name: str | None = None) -> None:
        self.client, self.upstream, self.remote_model = client, upstream, remote_model
        self.name = name or f"{upstream.name}/{remote_model}"

    async def complete(self, messages: list[dict], *, max_tokens: int = 256,
                       constraint: Constraint | None = None, temperature: float = 0.0,
                       seed: int | None = None) -> str:
        body = {"model": self.remote_model, "messages": messages, "temperature": temperature, "max_tokens": max_tokens,
                **({"seed": seed} if seed is not None else {}), **response_format_for(constraint, self.upstream.kind)}
        try:
            data = await self.client.post_json(self.upstream, "/chat/completions", body)
        except Exception as exc:  # UpstreamError carries its own message
            raise TaskModelError(f"{self.name}: {exc}") from exc
        try:
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise TaskModelError(f"{self.name} sent an answer that is not an OpenAI chat completion: "
                                 f"{str(data)[:200]}") from exc
        return unwrap(text, constraint, self.upstream.kind)

    async def score(self, messages: list[dict], options: list[str], *, mean: bool = False) -> list[float] | None:
        return None
