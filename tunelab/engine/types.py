"""The contract between a generation engine and what calls it (the server's routes, task models).

A route turns an OpenAI request into one `GenRequest` per choice (prompt token ids, sampling,
adapter, optional output constraint) and calls `engine.generate(req)`, an async iterator of
`TokenEvent`s: one per generated token (with its text delta, possibly empty while a multi-byte
character is incomplete), the last one carrying `finish_reason`. Closing the iterator early
(client gone) cancels the request inside the engine and frees its batch slot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from tunelab.engine.prefix_cache import PrefixCacheStats
from tunelab.engine.sampling import SamplingParams


@dataclass(frozen=True)
class Constraint:
    """What the output must match. kind: json_object | json_schema | choice | regex."""

    kind: Literal["json_object", "json_schema", "choice", "regex"]
    schema: dict | None = None  # json_schema
    choices: tuple[str, ...] = ()  # choice: output is exactly one of these strings
    pattern: str | None = None  # regex


@dataclass
class GenRequest:
    request_id: str
    prompt_ids: list[int]
    params: SamplingParams
    adapter: str | None = None  # registry name; None = the plain base model
    constraint: Constraint | None = None
    logprobs: int | None = None  # top-k logprobs to return per token (0 = only the chosen token's)
    arrival: float = 0.0  # time.monotonic() when queued (filled by the engine)


@dataclass
class ScoreRequest:
    """Score continuations instead of generating: the log-probability of each option's tokens after
    the prompt (likelihood ranking, e.g. among candidate categories). One prefill of the prompt,
    then every option in one batched forward pass."""

    request_id: str
    prompt_ids: list[int]
    options: list[list[int]]  # token ids of each continuation (non-empty)
    adapter: str | None = None


@dataclass
class TokenEvent:
    token_id: int | None  # None on a final event that carries no token
    text: str  # text delta since the previous event
    logprob: float | None = None
    top_logprobs: list[tuple[str, float]] = field(default_factory=list)
    finish_reason: Literal["stop", "length", "abort"] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class EngineStats:
    queue_depth: int = 0
    running: int = 0
    loaded_adapters: list[str] = field(default_factory=list)
    prefix_cache: PrefixCacheStats | None = None  # None: the engine keeps no prefix cache


class QueueFullError(RuntimeError):
    """The engine's queue is at its bound: the route answers 429 with Retry-After."""

    def __init__(self, retry_after_s: float = 1.0):
        super().__init__("queue full")
        self.retry_after_s = retry_after_s


class GenerationEngine(Protocol):
    """Both engines (sequential, batching) take the same constructor arguments: the loaded base model,
    then adapter_paths=, max_batch_size=, max_queue=, max_loaded_adapters=, constraint_backend=."""

    kind: str  # "sequential" | "batching": how /health names it

    def generate(self, req: GenRequest) -> AsyncIterator[TokenEvent]: ...

    def stats(self) -> EngineStats: ...

    async def score(self, req: ScoreRequest) -> list[list[float]]:
        """Per option, the log-probability of each of its tokens given the prompt and the option's
        earlier tokens (natural log; base model or `req.adapter`)."""
        ...

    async def load_adapter(self, name: str) -> None: ...

    async def unload_adapter(self, name: str) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
