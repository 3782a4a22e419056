"""The simple engine: one request at a time, token by token, on one model thread.

Requests wait in a bounded queue (`QueueFullError` past `max_queue` waiting); the model thread runs
each with a KV cache through the shared decode core (`decode.Decoding`: the same sampling, seeded
generator, stop strings and constraint closing as `generation.stream_text` and the batching engine),
with the request's adapter active (`AdapterPool`). Closing the iterator sets the request's cancel
flag, which the model thread checks before every token. It is the naive baseline of the throughput
benchmark and the engine the HTTP tests can reason about exactly. `score(req)` runs on the same
model thread, between two requests (scoring.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import torch

from tunelab.engine.adapter_pool import AdapterPool, AdapterResolver
from tunelab.engine.decode import Decoding
from tunelab.engine.drain import DrainRate
from tunelab.engine.guides import ConstraintBackendLike, guide_factory
from tunelab.engine.scoring import check_score_request, score_options
from tunelab.engine.types import EngineStats, GenRequest, ScoreRequest, TokenEvent
from tunelab.models.loader import LoadedModel


@dataclass
class _Job:
    req: GenRequest
    seq: Decoding
    events: asyncio.Queue = field(default_factory=asyncio.Queue)  # TokenEvent | BaseException
    cancelled: threading.Event = field(default_factory=threading.Event)


class SequentialEngine:
    """GenerationEngine that runs one request at a time (see the module docstring). Takes the same
    arguments as BatchingEngine; max_batch_size is accepted and has no effect (one row at a time)."""

    kind = "sequential"

    def __init__(self, loaded: LoadedModel, *, adapter_paths: AdapterResolver, max_batch_size: int = 1,
                 max_queue: int = 256, max_loaded_adapters: int = 8,
                 constraint_backend: ConstraintBackendLike | str | None = None, retry_after_s: float = 1.0) -> None:
        if max_queue < 0:
            raise ValueError("max_queue must be >= 0.")
        self.loaded = loaded
        self.pool = AdapterPool(loaded, adapter_paths, max_loaded_adapters)
        self.max_queue = max_queue
        self.drain = DrainRate(fallback_s=retry_after_s)  # a full queue's Retry-After, from finishes/s
        self._guide = guide_factory(loaded, constraint_backend)
        self._waiting: deque[_Job] = deque()
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._current: _Job | None = None
        self._loaded_names: tuple[str, ...] = ()  # snapshot for stats(), written by the model thread
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
        if self._worker is None:
            raise RuntimeError("The engine is not started.")
        if len(self._waiting) >= self.max_queue:
            raise self.drain.queue_full(len(self._waiting), self.max_queue)
        guide = self._guide(req.constraint) if req.constraint is not None else None
        seq = Decoding(req, self.loaded.tokenizer, self.loaded.eos_token_ids, context=self.loaded.context_length,
                       guide=guide, device=self.loaded.device)
        if req.adapter is not None:
            self.pool.adapter_paths(req.adapter)  # an unknown name raises here, before anything is queued
        req.arrival = time.monotonic()
        job = _Job(req, seq)
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
            job.cancelled.set()  # the consumer is gone (or done): the model thread stops before the next token
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
        await self._on_model_thread(self.pool.ensure, name)

    async def unload_adapter(self, name: str) -> None:
        await self._on_model_thread(self.pool.unload, name)

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
                self.drain.record()

    def _score(self, req: ScoreRequest) -> list[list[float]]:
        """On the model thread: score `req`'s options (an unknown adapter raises from the pool)."""
        with self.pool.use(req.adapter) as model:
            return score_options(model, req.prompt_ids, req.options, self.loaded.device)

    def _run(self, job: _Job, loop: asyncio.AbstractEventLoop) -> None:
        """On the model thread: generate for `job`, handing each event to the event loop."""
        def emit(item) -> None:
            loop.call_soon_threadsafe(job.events.put_nowait, item)

        from transformers import DynamicCache  # lazy: transformers takes seconds to import

        req, seq = job.req, job.seq
        try:
            with self.pool.use(req.adapter) as model, torch.inference_mode():
                self._loaded_names = tuple(self.pool.names())
                cache, input_ids = DynamicCache(), torch.tensor([req.prompt_ids], device=self.loaded.device)
                while seq.finish is None and not job.cancelled.is_set():
                    out = model(input_ids=input_ids, cache=cache, use_cache=True, logits_to_keep=1)
                    for event in seq.step(out.logits[:, -1, :]):
                        emit(event)
                    input_ids = torch.tensor([[seq.last]], device=self.loaded.device)
            if seq.finish is None:  # cancelled (stop(), or the consumer left): a consumer still waiting
                emit(seq.abort_event())  # gets an end, not silence
        except BaseException as exc:  # noqa: BLE001 - handed to the request's consumer
            emit(exc)
