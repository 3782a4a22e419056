"""Continuous batching over one base model with many LoRA adapters in the same forward pass.

`BatchingEngine(loaded, adapter_paths=...)` implements `GenerationEngine`: `generate(req)` queues a
request (bounded: QueueFullError) and returns an async iterator of `TokenEvent`s. One model thread
owns torch: between decode steps it runs adapter commands and one score request, prefills newly
admitted requests and merges them into the running batch (`KVBatch`); finished or cancelled rows
leave and free their slot. Each row names its adapter (`AdapterPool.forward`: PEFT's mixed-adapter
batches); for temperature 0 a request gets the same tokens as `generate_text` alone with the same
adapter. Every row goes through the shared decode core (`Decoding`: sampling, stop strings, the
constraint's mask and closing step).

Errors found before queueing (queue full, prompt too long, bad constraint, unknown adapter) are
raised by the stream's first `__anext__`; later ones (an adapter that does not load) by the
`__anext__` that meets them. `score(req)` (scoring.py) runs between decode steps on its own cache,
so running rows are not disturbed.

A row running alone takes the lean Llama step on a static KV cache (`fast_decode`, solo.py).

With `prefix_cache_bytes` > 0, prefills (of generation and of scoring) reuse the KV of prompt
prefixes earlier requests computed under the same weights (`PrefixCache`: token blocks, LRU within
the budget); an adapter's blocks go when it is unloaded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future

import torch

from tunelab.engine.adapter_pool import AdapterPool, AdapterResolver
from tunelab.engine.batching.running_kv import RunningKV
from tunelab.engine.batching.stream import EventStream, Outbox, Row
from tunelab.engine.decode import Decoding
from tunelab.engine.drain import DrainRate
from tunelab.engine.guides import ConstraintBackendLike, guide_factory
from tunelab.engine.prefix_cache import PrefixCache, prefill
from tunelab.engine.scoring import check_score_request, score_options
from tunelab.engine.types import EngineStats, GenRequest, ScoreRequest
from tunelab.models.loader import LoadedModel


class BatchingEngine:
    """Continuous-batching engine for one base model and any number of LoRA adapters (LRU-capped).

    adapter_paths: registry name -> PEFT folder (called in `generate`, so an unknown name raises
    there, e.g. the registry's UnknownAdapterError). constraint_backend: see `guides.guide_factory`
    (None: llguidance, built on the first constrained request). The engine takes over `loaded.model`:
    loading an adapter injects LoRA layers into it.
    """

    kind = "batching"

    def __init__(self, loaded: LoadedModel, *, adapter_paths: AdapterResolver, max_batch_size: int = 8,
                 max_queue: int = 64, max_loaded_adapters: int = 8,
                 constraint_backend: ConstraintBackendLike | str | None = None, retry_after_s: float = 1.0,
                 prefix_cache_bytes: int = 0, tree_scoring: bool = True, fast_decode: bool = True) -> None:
        if max_batch_size < 1 or max_queue < 0:
            raise ValueError("max_batch_size must be >= 1 and max_queue >= 0.")
        self.loaded = loaded
        self.max_batch_size, self.max_queue, self.drain = max_batch_size, max_queue, DrainRate(fallback_s=retry_after_s)
        self.prefix_cache = PrefixCache(prefix_cache_bytes)  # used by the model thread only
        self.tree_scoring = tree_scoring  # False: each option on its own copy of the prompt cache
        self.pool = AdapterPool(loaded, adapter_paths, max_loaded_adapters, on_unload=self.prefix_cache.drop)
        self._guide = guide_factory(loaded, constraint_backend)
        self._device = loaded.device
        # Shared between the event loop and the model thread, guarded by _cond.
        self._cond = threading.Condition()
        self._waiting: list[Row] = []
        self._commands: list[tuple[str, str, Future]] = []
        self._scoring: list[tuple[ScoreRequest, Future]] = []  # run by the model thread, one per step
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._loaded_names: list[str] = []  # snapshot for stats()
        # Model-thread-only state.
        self._rows: list[Row] = []
        self._batch = RunningKV(self.pool, self._device, fast_decode)
        self._pending: list[tuple[str, str, Future]] = []  # commands that wait for a busy adapter
        self._outbox = Outbox()
        # Counters for metrics (read-only outside): decode steps run, the most rows in one step, the
        # most distinct adapters (the base counting as one) in one forward pass.
        self.steps = 0
        self.peak_running = 0
        self.peak_adapter_mix = 0

    @property
    def fast_steps(self) -> int:  # of `steps`, those a lone row ran on the fast path
        return self._batch.fast_steps

    # ------------------------------------------------------------------ public API (event loop side)

    def generate(self, req: GenRequest) -> EventStream:
        """Queue `req` and return its event stream. Errors (QueueFullError, ValueError for a prompt that
        fills the context, ConstraintError, an unknown adapter) are raised by the stream's first
        `__anext__`, so `async for` and `await anext(...)` both see them; nothing is queued then."""
        loop = asyncio.get_running_loop()
        if len(self._waiting) >= self.max_queue:  # before compiling a constraint for nothing
            return EventStream(None, error=self.drain.queue_full(len(self._waiting), self.max_queue))
        try:
            row = self._make_row(req, loop)
        except Exception as exc:
            return EventStream(None, error=exc)
        with self._cond:
            if self._stopping:
                return EventStream(None, error=RuntimeError("The engine is stopped."))
            if len(self._waiting) >= self.max_queue:
                return EventStream(None, error=self.drain.queue_full(len(self._waiting), self.max_queue))
            req.arrival = time.monotonic()
            self._waiting.append(row)
            self._ensure_thread()
            self._cond.notify()
        return EventStream(row, self._cancel)

    def stats(self) -> EngineStats:
        with self._cond:
            return EngineStats(queue_depth=len(self._waiting), running=len(self._rows),
                               loaded_adapters=list(self._loaded_names),
                               prefix_cache=self.prefix_cache.stats() if self.prefix_cache.enabled else None)

    async def score(self, req: ScoreRequest) -> list[list[float]]:
        """Per option, the log-probability of each of its tokens after the prompt (`ScoreRequest`), run
        by the model thread between decode steps. Bad options or an unknown adapter raise here."""
        check_score_request(req.prompt_ids, req.options, self.loaded.context_length)
        if req.adapter is not None:
            self.pool.adapter_paths(req.adapter)  # an unknown name raises here
        fut: Future = Future()  # cancelled when the caller goes away: the model thread then skips it
        with self._cond:
            if self._stopping:
                raise RuntimeError("The engine is stopped.")
            self._scoring.append((req, fut))
            self._ensure_thread()
            self._cond.notify()
        return await asyncio.wrap_future(fut)

    async def load_adapter(self, name: str) -> None:
        """Load adapter `name` now (evicting the least recently used idle one at the cap)."""
        self.pool.adapter_paths(name)  # an unknown name raises here
        await self._command("load", name)

    async def unload_adapter(self, name: str) -> None:
        """Remove adapter `name`; when running requests use it, once they finish."""
        await self._command("unload", name)

    async def start(self) -> None:
        with self._cond:
            self._stopping = False
            self._ensure_thread()

    async def stop(self) -> None:
        """Abort queued and running requests (finish_reason "abort") and end the model thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join)
        with self._cond:
            self._thread = None

    # ------------------------------------------------------------------ request set-up

    def _make_row(self, req: GenRequest, loop) -> Row:
        if req.adapter is not None:
            self.pool.adapter_paths(req.adapter)  # unknown name: the registry's error, before anything is queued
        seq = Decoding(req, self.loaded.tokenizer, self.loaded.eos_token_ids, context=self.loaded.context_length,
                       guide=self._guide(req.constraint) if req.constraint is not None else None,
                       device=self._device)
        return Row(seq=seq, loop=loop, queue=asyncio.Queue())

    def _cancel(self, row: Row) -> None:
        row.cancelled = True
        with self._cond:
            if row in self._waiting:
                self._waiting.remove(row)
            self._cond.notify()

    async def _command(self, op: str, name: str) -> None:
        fut: Future = Future()
        with self._cond:
            if self._stopping:
                raise RuntimeError("The engine is stopped.")
            self._commands.append((op, name, fut))
            self._ensure_thread()
            self._cond.notify()
        await asyncio.wrap_future(fut)

    def _ensure_thread(self) -> None:  # caller holds _cond
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="tunelab-batching", daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------ model thread: scheduling

    def _run(self) -> None:
        with torch.inference_mode():
            self._loop()
        self._shutdown()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not (self._stopping or self._rows or self._waiting or self._commands or self._scoring):
                    self._cond.wait()
                if self._stopping:
                    break
                self._pending += self._commands
                self._commands = []
                candidates = list(self._waiting)
            try:
                self._run_commands()
                self._score_next()
                self._admit(candidates)
                self._drop_cancelled()
                if self._rows:
                    self._decode_step()
            except Exception as exc:  # a failed forward pass: fail the running rows, keep serving
                for row in self._rows:
                    self._outbox.emit(row, exc)
                self._rows = []
                self._batch.reset()
            self._outbox.flush()
            if not self._rows:
                with self._cond:  # requests waiting for an adapter slot and nothing running: don't spin
                    if self._waiting and not (self._commands or self._scoring or self._stopping):
                        self._cond.wait(timeout=0.05)

    def _shutdown(self) -> None:
        with self._cond:
            waiting, self._waiting = self._waiting, []
            commands, self._commands = self._commands + self._pending, []
            self._pending = []
            scoring, self._scoring = self._scoring, []
        for row in waiting + self._rows:
            self._outbox.emit(row, row.seq.abort_event())
        for _, _, fut in commands:
            fut.set_exception(RuntimeError("The engine stopped."))
        for _, fut in scoring:
            if fut.set_running_or_notify_cancel():
                fut.set_exception(RuntimeError("The engine stopped."))
        self._rows = []
        self._batch.reset()
        self._outbox.flush()

    # adapters -------------------------------------------------------------

    def _in_use(self) -> set[str]:
        return {r.req.adapter for r in self._rows if r.req.adapter is not None}

    def _adapter_ready(self, name: str | None) -> bool:
        """The adapter is on the model (loaded now if a slot is free); False: wait for running rows."""
        if name is None:
            return True
        if any(op == "unload" and n == name for op, n, _ in self._pending):
            return False
        ready = self.pool.ensure(name, self._in_use())
        self._snapshot_adapters()
        return ready

    def _run_commands(self) -> None:
        still = []
        for op, name, fut in self._pending:
            try:
                if op == "load":
                    done = self.pool.ensure(name, self._in_use())
                else:
                    done = name not in self._in_use()
                    if done:
                        self.pool.unload(name)
            except Exception as exc:
                fut.set_exception(exc)
                continue
            finally:
                self._snapshot_adapters()
            if done:
                fut.set_result(None)
            else:
                still.append((op, name, fut))
        self._pending = still

    def _snapshot_adapters(self) -> None:
        with self._cond:
            self._loaded_names = self.pool.names()

    # admission, prefill and scoring -----------------------------------------

    def _admit(self, candidates: list[Row]) -> None:
        """Prefill waiting requests (FIFO, skipping ones whose adapter has no slot yet) into free rows."""
        for row in candidates:
            if len(self._rows) >= self.max_batch_size:
                return
            if row.cancelled:
                continue
            try:
                if not self._adapter_ready(row.req.adapter):
                    continue
            except Exception as exc:  # the adapter failed to load: this request fails, others go on
                self._dequeue(row)
                self._outbox.emit(row, exc)
                continue
            if not self._dequeue(row):
                continue
            try:
                self._prefill(row)
            except Exception as exc:
                self._outbox.emit(row, exc)

    def _dequeue(self, row: Row) -> bool:
        with self._cond:
            if row not in self._waiting:
                return False
            self._waiting.remove(row)
            return True

    def _prefill(self, row: Row) -> None:
        """Run the prompt alone (same shapes as `generate_text`), sample its first token, and merge its
        cache into the batch unless it already finished."""
        # Plain full-attention layers (DynamicCache): left padding stays valid for every model.
        ids = row.req.prompt_ids
        out, cache = prefill(self._forward(row.req.adapter), ids, self._device, self._prefix(row.req.adapter))
        row.pos = len(ids)
        if self._after_logits(row, out.logits[:, -1, :]):
            self._batch.add(cache, len(ids))
            self._rows.append(row)

    def _forward(self, adapter: str | None):
        """A forward function that runs every row under `adapter` (loaded already)."""
        def forward(input_ids, **kw):
            return self.pool.forward(input_ids, [adapter] * len(input_ids), **kw)
        return forward

    def _prefix(self, adapter: str | None) -> tuple[PrefixCache, str] | None:
        return (self.prefix_cache, self.pool.weights_key(adapter)) if self.prefix_cache.enabled else None

    def _score_next(self) -> None:
        """Run the first score request whose adapter is ready; one per step, so running rows keep
        decoding between them. Cancelled ones are dropped."""
        with self._cond:
            jobs = list(self._scoring)
        for job in jobs:
            req, fut = job
            error = None
            try:
                if not fut.cancelled() and not self._adapter_ready(req.adapter):
                    continue  # no adapter slot until running rows finish
            except Exception as exc:  # the adapter failed to load
                error = exc
            with self._cond:
                self._scoring.remove(job)
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                if error is not None:
                    raise error
                fut.set_result(score_options(self._forward(req.adapter), req.prompt_ids, req.options, self._device,
                                             prefix=self._prefix(req.adapter), shared_prefix=self.tree_scoring))
            except Exception as exc:
                fut.set_exception(exc)
            return

    # decoding ---------------------------------------------------------------

    def _drop_cancelled(self) -> None:
        gone = [i for i, r in enumerate(self._rows) if r.cancelled]
        for i in gone:
            self._outbox.emit(self._rows[i], self._rows[i].seq.abort_event())
        if gone:
            self._remove_rows(set(gone))

    def _decode_step(self) -> None:
        rows = self._rows
        logits = self._batch.step(rows)  # (B, V)
        self.steps += 1
        self.peak_running = max(self.peak_running, len(rows))
        self.peak_adapter_mix = max(self.peak_adapter_mix, len({r.req.adapter for r in rows}))
        done = set()
        for i, row in enumerate(rows):
            row.pos += 1
            try:
                if not self._after_logits(row, logits[i:i + 1]):
                    done.add(i)
            except Exception as exc:  # this row's constraint failed: it ends, the others go on
                self._outbox.emit(row, exc)
                done.add(i)
        if done:
            self._remove_rows(done)

    def _after_logits(self, row: Row, logits: torch.Tensor) -> bool:
        """logits: (1, V) for the row's next position. Step its decoding, emit, return whether it goes on."""
        for event in row.seq.step(logits):
            self._outbox.emit(row, event)
        return row.seq.finish is None

    def _remove_rows(self, gone: set[int]) -> None:
        self.drain.record(len(gone))
        keep = [i for i in range(len(self._rows)) if i not in gone]
        self._batch.keep(self._rows, keep)
        self._rows = [self._rows[i] for i in keep]
