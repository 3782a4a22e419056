"""The simple engine: one request at a time, token by token, on one worker thread.

Requests wait in a bounded queue (`QueueFullError` past `max_queue` waiting); the worker runs each
with a KV cache exactly as `tunelab.engine.generation.stream_text` does (same sampling, same seeded
generator, so the same seed gives the same text as `tunelab generate`), with the request's adapter
active (`AdapterPool`: PEFT multi-adapter, LRU cap). Closing the iterator sets the request's cancel
flag, which the worker checks before every token. It is the naive baseline of the throughput
benchmark and the engine the HTTP tests can reason about exactly. `score(req)` runs on the same model
thread, between two requests (scoring.py).

Output constraints need a constraint backend (`constraint_backend(constraint, tokenizer)` returning
a `TokenGuide`); without one a constrained request fails with `ConstraintUnsupportedError` (400).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Iterator, Protocol

import torch

from tunelab.adapters.errors import UnknownAdapterError
from tunelab.engine.generation import IncrementalDecoder, sample_next
from tunelab.models.loader import LoadedModel
from tunelab.engine.adapter_pool import AdapterPool, AdapterResolver
from tunelab.engine.scoring import check_score_request, score_options
from tunelab.engine.stops import StopStrings
from tunelab.engine.types import Constraint, EngineStats, GenRequest, QueueFullError, ScoreRequest, TokenEvent


class ConstraintUnsupportedError(ValueError):
    """A request asked for structured output from an engine without a constraint backend."""

    def __init__(self, constraint: Constraint) -> None:
        super().__init__(
            f"Structured output ({constraint.kind}: response_format json / tunelab_choices / tunelab_regex) needs "
            "the constrained engine, and this server's engine has no constraint backend. Start the server with "
            "an engine that has one (tunelab serve --engine batching), or send the request without it."
        )


class TokenGuide(Protocol):
    """Per-request state of a constraint: which tokens may come next."""

    def mask(self, logits: torch.Tensor) -> torch.Tensor:
        """logits [1, vocab] -> the same with every token the constraint forbids set to -inf."""
        ...

    def advance(self, token_id: int) -> None: ...

    def is_done(self) -> bool:
        """True once the output is complete (generation stops with finish_reason 'stop')."""
        ...


ConstraintBackend = Callable[[Constraint, Any], TokenGuide]  # (constraint, tokenizer) -> guide


def decode_tokens(loaded: LoadedModel, model: Any, req: GenRequest, cancelled: threading.Event | None = None,
                  guide: TokenGuide | None = None) -> Iterator[TokenEvent]:
    """Generate for one request with `model` (the base, or a PEFT model with the adapter active);
    one TokenEvent per token, the last with its finish_reason. Stops early (no event) when
    `cancelled` is set."""
    params, prompt_len = req.params, len(req.prompt_ids)
    room = loaded.context_length - prompt_len
    if room <= 0:
        raise ValueError(f"The prompt has {prompt_len} tokens; the model's context is {loaded.context_length}.")
    budget = min(params.max_tokens, room)
    device = loaded.device
    generator = torch.Generator(device=device).manual_seed(params.seed) if params.seed is not None else None
    eos, tokenizer = loaded.eos_token_ids, loaded.tokenizer
    decoder, stops = IncrementalDecoder(tokenizer), StopStrings(params.stop)
    input_ids = torch.tensor([req.prompt_ids], device=device)
    past = None
    with torch.inference_mode():
        for step in range(budget):
            if cancelled is not None and cancelled.is_set():
                return
            out = model(input_ids=input_ids, past_key_values=past, use_cache=True)
            past = out.past_key_values
            logits = out.logits[:, -1, :]  # [1, vocab]
            if guide is not None:
                logits = guide.mask(logits)
            token = int(sample_next(logits, params, generator)[0])
            done = step + 1
            logprob, top = None, []
            if req.logprobs is not None:
                logp = torch.log_softmax(logits[0].float(), dim=-1)
                logprob = float(logp[token])
                if req.logprobs > 0:
                    values, ids = logp.topk(req.logprobs)
                    top = [(tokenizer.decode([int(i)]), float(v)) for v, i in zip(values, ids)]
            counts = {"prompt_tokens": prompt_len, "completion_tokens": done}
            if token in eos:
                yield TokenEvent(token_id=None, text=stops.flush(), finish_reason="stop", **counts)
                return
            text, stopped = stops.push(decoder.push(token))
            if guide is not None:
                guide.advance(token)
                stopped = stopped or guide.is_done()
            if stopped:
                yield TokenEvent(token, text + (stops.flush() if guide is not None else ""), logprob, top,
                                 finish_reason="stop", **counts)
                return
            last = step == budget - 1
            if last:
                text += stops.flush()
            yield TokenEvent(token, text, logprob, top, finish_reason="length" if last else None, **counts)
            input_ids = torch.tensor([[token]], device=device)


@dataclass
class _Job:
    req: GenRequest
    events: asyncio.Queue = field(default_factory=asyncio.Queue)  # TokenEvent | BaseException
    cancelled: threading.Event = field(default_factory=threading.Event)


class SequentialEngine:
    """GenerationEngine that runs one request at a time (see the module docstring)."""

    kind = "sequential"

    def __init__(self, loaded: LoadedModel, adapter_resolver: AdapterResolver, *, max_queue: int = 256,
                 max_loaded_adapters: int = 8, constraint_backend: ConstraintBackend | None = None,
                 retry_after_s: float = 1.0) -> None:
        self.loaded = loaded
        self.pool = AdapterPool(loaded, adapter_resolver, max_loaded_adapters)
        self.max_queue, self.retry_after_s = max_queue, retry_after_s
        self.constraint_backend = constraint_backend
        self._waiting: deque[_Job] = deque()
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._current: _Job | None = None
        self._loaded_names: tuple[str, ...] = ()  # snapshot for stats(), written by the worker thread
        # One thread runs the model: generation, adapter loads and unloads never overlap.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tunelab-engine")

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._worker is None:
            self._wakeup = asyncio.Event()
            self._worker = asyncio.create_task(self._work(), name="tunelab-sequential-engine")

    async def stop(self) -> None:
        for job in [*self._waiting, *([self._current] if self._current else [])]:
            job.cancelled.set()
        for job in self._waiting:
            job.events.put_nowait(RuntimeError("The server is shutting down."))
        self._waiting.clear()
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)

    # -- the contract ---------------------------------------------------------------------------

    async def generate(self, req: GenRequest) -> AsyncIterator[TokenEvent]:
        if req.constraint is not None and self.constraint_backend is None:
            raise ConstraintUnsupportedError(req.constraint)
        if self._worker is None:
            raise RuntimeError("The engine is not started.")
        if len(self._waiting) >= self.max_queue:
            raise QueueFullError(self.retry_after_s)
        req.arrival = time.monotonic()
        job = _Job(req)
        self._waiting.append(job)
        self._wakeup.set()
        try:
            while True:
                event = await job.events.get()
                if isinstance(event, BaseException):
                    raise event
                yield event
                if event.finish_reason is not None:
                    return
        finally:
            job.cancelled.set()  # the consumer is gone (or done): the worker stops before the next token
            try:
                self._waiting.remove(job)
            except ValueError:
                pass

    def stats(self) -> EngineStats:
        return EngineStats(queue_depth=len(self._waiting), running=int(self._current is not None),
                           loaded_adapters=list(self._loaded_names))

    async def score(self, req: ScoreRequest) -> list[list[float]]:
        """Per option, the log-probability of each of its tokens after the prompt (`ScoreRequest`), with
        the request's adapter active. Bad options raise before anything is queued."""
        check_score_request(req.prompt_ids, req.options, self.loaded.context_length)
        if self._worker is None:
            raise RuntimeError("The engine is not started.")
        return await self._on_model_thread(self._score, req)

    async def load_adapter(self, name: str) -> None:
        await self._on_model_thread(self.pool.load, name)

    async def unload_adapter(self, name: str) -> None:
        def unload() -> None:
            if name not in self.pool.names():
                raise UnknownAdapterError(name, self.pool.names())
            self.pool.unload(name)

        await self._on_model_thread(unload)

    # -- inside ---------------------------------------------------------------------------------

    async def _on_model_thread(self, fn, *args):
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            self._loaded_names = tuple(self.pool.names())

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._waiting:
                self._wakeup.clear()
                await self._wakeup.wait()
            job = self._waiting.popleft()
            if job.cancelled.is_set():
                continue
            self._current = job
            try:
                await loop.run_in_executor(self._executor, self._run, job, loop)
            finally:
                self._current = None

    def _score(self, req: ScoreRequest) -> list[list[float]]:
        """On the model thread: score `req`'s options (an unknown adapter raises from the pool)."""
        with self.pool.use(req.adapter) as model:
            return score_options(model, req.prompt_ids, req.options, self.loaded.device)

    def _run(self, job: _Job, loop: asyncio.AbstractEventLoop) -> None:
        """On the model thread: generate for `job`, handing each event to the event loop."""
        def emit(item) -> None:
            loop.call_soon_threadsafe(job.events.put_nowait, item)

        try:
            guide = None
            if job.req.constraint is not None:
                guide = self.constraint_backend(job.req.constraint, self.loaded.tokenizer)
            with self.pool.use(job.req.adapter) as model:
                self._loaded_names = tuple(self.pool.names())
                last = None
                for last in decode_tokens(self.loaded, model, job.req, job.cancelled, guide):
                    emit(last)
            if last is None or last.finish_reason is None:  # cancelled (stop(), or the consumer left): a
                # consumer still waiting gets an end, not silence
                emit(TokenEvent(token_id=None, text="", finish_reason="abort", prompt_tokens=len(job.req.prompt_ids),
                                completion_tokens=last.completion_tokens if last is not None else 0))
        except BaseException as exc:  # noqa: BLE001 - handed to the request's consumer
            emit(exc)
