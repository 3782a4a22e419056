"""Continuous batching over one base model with many LoRA adapters in the same forward pass.

`BatchingEngine(loaded, adapter_paths=...)` implements `GenerationEngine`: `generate(req)` queues a
request (bounded: QueueFullError) and returns an async iterator of `TokenEvent`s. One worker thread
owns torch: between decode steps it prefills newly admitted requests and merges them into the running
batch; finished or cancelled rows leave and free their slot. Each row names its adapter (PEFT's
mixed-adapter batches, "__base__" for the plain model); for temperature 0 a request gets the same
tokens as `generate_text` alone with the same adapter.

KV cache: one `DynamicCache` for the batch, left-padded. Row r keeps `pos[r]` real tokens at the right
end of the cache; the attention mask (batch, cache_len) marks them, position ids count real tokens
only, so a row's numbers are those of the row alone up to float rounding. Shapes: keys/values per layer
(batch, kv_heads, cache_len, head_dim).

Constrained rows get their llguidance mask applied to their logits before sampling, and are closed in
time (constraints.py) so their output is complete within max_tokens. Errors found before queueing
(queue full, prompt too long, bad constraint, unknown adapter) are raised by the stream's first
`__anext__`; later ones (an adapter that does not load) are raised by the `__anext__` that meets them.

`score(req)` (likelihoods of candidate replies, scoring.py) is queued to the worker too and runs between
decode steps on its own cache, so running rows are not disturbed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import torch

from tunelab.models.errors import ModelSourceError
from tunelab.engine.generation import IncrementalDecoder, first_stop, sample_next, token_logprobs
from tunelab.models.loader import LoadedModel
from tunelab.models.peft_loading import adapter_config, check_adapter_folder
from tunelab.engine.constraints import ConstraintBackend, ConstraintMatcher
from tunelab.engine.scoring import check_score_request, score_options
from tunelab.engine.types import EngineStats, GenRequest, QueueFullError, ScoreRequest, TokenEvent

BASE = "__base__"  # PEFT's name for "no adapter" in a mixed batch


@dataclass(eq=False)
class _Seq:
    """One request inside the engine. Touched by the worker thread only, except `cancelled`."""

    req: GenRequest
    loop: asyncio.AbstractEventLoop  # the consumer's event loop and queue (not the stream itself, so
    queue: asyncio.Queue  # that dropping the stream lets it be collected, which cancels the request)
    budget: int  # tokens it may generate: min(max_tokens, context room)
    generator: torch.Generator | None
    decoder: IncrementalDecoder
    matcher: ConstraintMatcher | None
    cancelled: bool = False
    token_ids: list[int] = field(default_factory=list)
    text: str = ""  # decoded text so far, cut at a stop string
    sent: int = 0  # chars of `text` already sent
    pos: int = 0  # real tokens in this row's cache = position id of `last`
    last: int = 0  # the sampled token not yet fed to the model


class _Stream:
    """What `generate` returns: events arrive from the worker thread through the caller's event loop.
    Closing it (aclose, the consumer task cancelled, or garbage collection) cancels the request."""

    def __init__(self, engine: BatchingEngine, seq: _Seq | None, error: BaseException | None = None):
        self._engine, self._seq = engine, seq
        self._error = error  # raised on the first __anext__ (queue full, prompt too long, bad constraint)
        self._closed = False

    def __aiter__(self) -> _Stream:
        return self

    async def __anext__(self) -> TokenEvent:
        if self._error is not None:
            err, self._error, self._closed = self._error, None, True
            raise err
        if self._closed:
            raise StopAsyncIteration
        try:
            item = await self._seq.queue.get()
        except BaseException:  # CancelledError: the consumer went away
            self._cancel()
            raise
        if isinstance(item, BaseException):
            self._closed = True
            raise item
        if item.finish_reason is not None:
            self._closed = True
        return item

    async def aclose(self) -> None:
        self._cancel()

    def _cancel(self) -> None:
        if not self._closed:
            self._closed = True
            if self._seq is not None:
                self._engine._cancel(self._seq)

    def __del__(self) -> None:
        try:
            self._cancel()
        except Exception:  # interpreter shutdown
            pass


class BatchingEngine:
    """Continuous-batching engine for one base model and any number of LoRA adapters (LRU-capped).

    adapter_paths: registry name -> PEFT folder (called in `generate`, so an unknown name raises
    there, e.g. the registry's UnknownAdapterError). constraint_backend: a ConstraintBackend for this
    tokenizer; None builds one on the first constrained request. The engine takes over `loaded.model`:
    loading an adapter injects LoRA layers into it.
    """

    def __init__(self, loaded: LoadedModel, *, adapter_paths: Callable[[str], str], max_batch_size: int = 8,
                 max_queue: int = 64, max_loaded_adapters: int = 8,
                 constraint_backend: ConstraintBackend | None = None) -> None:
        if max_batch_size < 1 or max_queue < 0 or max_loaded_adapters < 1:
            raise ValueError("max_batch_size and max_loaded_adapters must be >= 1, max_queue >= 0.")
        self.loaded = loaded
        self.adapter_paths = adapter_paths
        self.max_batch_size, self.max_queue, self.max_loaded_adapters = max_batch_size, max_queue, max_loaded_adapters
        self._constraints = constraint_backend
        self._constraints_lock = threading.Lock()
        self._eos = loaded.eos_token_ids
        self._context = loaded.context_length
        self._device = loaded.device
        self._base = loaded.model
        self._peft = None  # peft.PeftModel once the first adapter is loaded
        self._adapters: OrderedDict[str, str] = OrderedDict()  # registry name -> PEFT key, LRU first
        self._next_key = 0
        # Shared between the event loop and the worker, guarded by _cond.
        self._cond = threading.Condition()
        self._waiting: list[_Seq] = []
        self._commands: list[tuple[str, str, Future]] = []
        self._scoring: list[tuple[ScoreRequest, Future]] = []  # run by the worker, one per step
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._loaded_names: list[str] = []  # snapshot for stats()
        # Worker-only batch state.
        self._rows: list[_Seq] = []
        self._cache = None  # transformers DynamicCache, (B, H, L, D) per layer
        self._mask: torch.Tensor | None = None  # (B, L) long, 1 = real token
        self._pending: list[tuple[str, str, Future]] = []  # commands that wait for a busy adapter
        self._outbox: dict[asyncio.AbstractEventLoop, list] = {}
        # Counters for metrics (read-only outside): decode steps run, the most rows in one step, the
        # most distinct adapters (the base counting as one) in one forward pass.
        self.steps = 0
        self.peak_running = 0
        self.peak_adapter_mix = 0

    # ------------------------------------------------------------------ public API (event loop side)

    def generate(self, req: GenRequest) -> _Stream:
        """Queue `req` and return its event stream. Errors (QueueFullError, ValueError for a prompt that
        fills the context, ConstraintError, an unknown adapter) are raised by the stream's first
        `__anext__`, so `async for` and `await anext(...)` both see them; nothing is queued then."""
        loop = asyncio.get_running_loop()
        if len(self._waiting) >= self.max_queue:  # before compiling a constraint for nothing
            return _Stream(self, None, error=QueueFullError(self._retry_after()))
        try:
            seq = self._make_seq(req, loop)
        except Exception as exc:
            return _Stream(self, None, error=exc)
        with self._cond:
            if self._stopping:
                return _Stream(self, None, error=RuntimeError("The engine is stopped."))
            if len(self._waiting) >= self.max_queue:
                return _Stream(self, None, error=QueueFullError(self._retry_after()))
            req.arrival = time.monotonic()
            self._waiting.append(seq)
            self._ensure_thread()
            self._cond.notify()
        return _Stream(self, seq)

    def stats(self) -> EngineStats:
        with self._cond:
            return EngineStats(queue_depth=len(self._waiting), running=len(self._rows),
                               loaded_adapters=list(self._loaded_names))

    async def score(self, req: ScoreRequest) -> list[list[float]]:
        """Per option, the log-probability of each of its tokens after the prompt (`ScoreRequest`), run
        by the worker between decode steps. Bad options or an unknown adapter raise here."""
        check_score_request(req.prompt_ids, req.options, self._context)
        if req.adapter is not None:
            self.adapter_paths(req.adapter)  # an unknown name raises here
        fut: Future = Future()  # cancelled when the caller goes away: the worker then skips it
        with self._cond:
            if self._stopping:
                raise RuntimeError("The engine is stopped.")
            self._scoring.append((req, fut))
            self._ensure_thread()
            self._cond.notify()
        return await asyncio.wrap_future(fut)

    async def load_adapter(self, name: str) -> None:
        """Load adapter `name` now (evicting the least recently used idle one at the cap)."""
        self.adapter_paths(name)  # an unknown name raises here
        await self._command("load", name)

    async def unload_adapter(self, name: str) -> None:
        """Remove adapter `name`; when running requests use it, once they finish."""
        await self._command("unload", name)

    async def start(self) -> None:
        with self._cond:
            self._stopping = False
            self._ensure_thread()

    async def stop(self) -> None:
        """Abort queued and running requests (finish_reason "abort") and end the worker."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join)
        with self._cond:
            self._thread = None

    # ------------------------------------------------------------------ request set-up

    def _make_seq(self, req: GenRequest, loop) -> _Seq:
        n = len(req.prompt_ids)
        if n == 0:
            raise ValueError("The prompt is empty.")
        room = self._context - n
        if room <= 0:
            raise ValueError(f"The prompt has {n} tokens; the model's context is {self._context}.")
        if req.adapter is not None:
            self.adapter_paths(req.adapter)  # unknown name: the registry's error, before anything is queued
        matcher = self._constraint_backend().matcher(req.constraint) if req.constraint is not None else None
        p = req.params
        generator = torch.Generator(device=self._device).manual_seed(p.seed) if p.seed is not None else None
        return _Seq(req=req, loop=loop, queue=asyncio.Queue(), budget=min(p.max_tokens, room), generator=generator,
                    decoder=IncrementalDecoder(self.loaded.tokenizer), matcher=matcher)

    def _constraint_backend(self) -> ConstraintBackend:
        with self._constraints_lock:
            if self._constraints is None:
                self._constraints = ConstraintBackend.for_model(self.loaded)
            return self._constraints

    def _retry_after(self) -> float:
        return 1.0

    def _cancel(self, seq: _Seq) -> None:
        seq.cancelled = True
        with self._cond:
            if seq in self._waiting:
                self._waiting.remove(seq)
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

    # ------------------------------------------------------------------ worker thread

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
                for seq in self._rows:
                    self._emit_error(seq, exc)
                self._reset_batch()
            self._flush()
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
        for seq in waiting + self._rows:
            self._emit(seq, TokenEvent(token_id=None, text="", finish_reason="abort",
                                       prompt_tokens=len(seq.req.prompt_ids), completion_tokens=len(seq.token_ids)))
        for _, _, fut in commands:
            fut.set_exception(RuntimeError("The engine stopped."))
        for _, fut in scoring:
            if fut.set_running_or_notify_cancel():
                fut.set_exception(RuntimeError("The engine stopped."))
        self._reset_batch()
        self._flush()

    # adapters -------------------------------------------------------------

    def _in_use(self) -> set[str]:
        return {s.req.adapter for s in self._rows if s.req.adapter is not None}

    def _run_commands(self) -> None:
        still = []
        for op, name, fut in self._pending:
            try:
                if op == "load":
                    done = self._ensure_adapter(name)
                else:
                    done = name not in self._in_use()
                    if done:
                        self._evict(name)
            except Exception as exc:
                fut.set_exception(exc)
                continue
            if done:
                fut.set_result(None)
            else:
                still.append((op, name, fut))
        self._pending = still

    def _unload_pending(self, name: str) -> bool:
        return any(op == "unload" and n == name for op, n, _ in self._pending)

    def _ensure_adapter(self, name: str) -> bool:
        """Make adapter `name` loaded; False when the cap is reached and every loaded one is in use."""
        if name in self._adapters:
            self._adapters.move_to_end(name)
            return True
        if len(self._adapters) >= self.max_loaded_adapters:
            busy = self._in_use()
            idle = [n for n in self._adapters if n not in busy]
            if not idle:
                return False
            self._evict(idle[0])
        self._load(name)
        return True

    def _load(self, name: str) -> None:
        path = str(check_adapter_folder(self.adapter_paths(name)))
        cfg = adapter_config(path)
        if str(cfg.get("peft_type", "")).upper() != "LORA" or cfg.get("use_dora"):
            kind = f"{cfg.get('peft_type')}{' with DoRA' if cfg.get('use_dora') else ''}"
            raise ModelSourceError(f"Adapter '{name}' is {kind}: mixed-adapter batches serve plain LoRA adapters only.")
        key = f"a{self._next_key}"  # PEFT keys are module names: registry names may hold '.'
        self._next_key += 1
        # Normal tensors for the LoRA weights (the worker runs in inference mode): the model stays usable
        # by code outside the engine that needs autograd.
        with torch.inference_mode(False), torch.no_grad():
            self._attach(name, key, path)
        self._adapters[name] = key
        self._snapshot_adapters()

    def _attach(self, name: str, key: str, path: str) -> None:
        try:
            if self._peft is None:
                from peft import PeftModel

                self._peft = PeftModel.from_pretrained(self._base, path, adapter_name=key, is_trainable=False,
                                                       torch_device=str(self._device))
            else:
                self._peft.load_adapter(path, adapter_name=key, is_trainable=False, torch_device=str(self._device))
        except (RuntimeError, ValueError, KeyError) as exc:
            self._clean_failed_load(key)
            raise ModelSourceError(f"Adapter '{name}' ({path}) does not fit model '{self.loaded.name}': "
                                   f"{type(exc).__name__}: {str(exc)[:500]}") from exc
        self._peft.eval()

    def _clean_failed_load(self, key: str) -> None:
        """PEFT injects LoRA layers before it loads their weights: take out what a failed load left."""
        try:
            if self._peft is not None:
                if key in self._peft.peft_config:
                    self._peft.delete_adapter(key)
                return
            from peft.tuners.tuners_utils import BaseTunerLayer

            for parent in list(self._base.modules()):
                for child_name, child in list(parent.named_children()):
                    if isinstance(child, BaseTunerLayer):
                        setattr(parent, child_name, child.get_base_layer())
        except Exception:  # cleaning up must not hide the load error
            pass

    def _evict(self, name: str) -> None:
        key = self._adapters.pop(name, None)
        if key is None:
            return
        if self._adapters:
            if key in self._peft.active_adapters:  # PEFT warns when the active one goes: pick another first
                self._peft.set_adapter(next(iter(self._adapters.values())))
            self._peft.delete_adapter(key)
        else:  # the last one: take the LoRA layers out again, back to the plain base model
            self._base = self._peft.unload()
            self._peft = None
        self._snapshot_adapters()

    def _snapshot_adapters(self) -> None:
        with self._cond:
            self._loaded_names = list(self._adapters)

    # admission and prefill --------------------------------------------------

    def _admit(self, candidates: list[_Seq]) -> None:
        """Prefill waiting requests (FIFO, skipping ones whose adapter has no slot yet) into free rows."""
        for seq in candidates:
            if len(self._rows) >= self.max_batch_size:
                return
            if seq.cancelled:
                continue
            name = seq.req.adapter
            try:
                if name is not None and (self._unload_pending(name) or not self._ensure_adapter(name)):
                    continue
            except Exception as exc:  # the adapter failed to load: this request fails, others go on
                self._dequeue(seq)
                self._emit_error(seq, exc)
                continue
            if not self._dequeue(seq):
                continue
            try:
                self._prefill(seq)
            except Exception as exc:
                self._emit_error(seq, exc)

    def _dequeue(self, seq: _Seq) -> bool:
        with self._cond:
            if seq not in self._waiting:
                return False
            self._waiting.remove(seq)
            return True

    def _forward(self, input_ids, adapters: list[str | None], **kwargs):
        kwargs = {"use_cache": True, "logits_to_keep": 1, **kwargs, "input_ids": input_ids}
        with torch.inference_mode():
            if self._peft is None:
                return self._base(**kwargs)
            names = [self._adapters[a] if a is not None else BASE for a in adapters]
            return self._peft(adapter_names=names, **kwargs)

    def _prefill(self, seq: _Seq) -> None:
        """Run the prompt alone (same shapes as `generate_text`), sample its first token, and merge its
        cache into the batch unless it already finished."""
        from transformers import DynamicCache

        ids = torch.tensor([seq.req.prompt_ids], device=self._device)
        cache = DynamicCache()  # plain full-attention layers: left padding stays valid for every model
        out = self._forward(ids, [seq.req.adapter], past_key_values=cache)
        seq.pos = ids.shape[1]
        if not self._after_logits(seq, out.logits[:, -1, :]):
            return
        n = ids.shape[1]
        if self._cache is None:
            self._cache, self._mask = cache, torch.ones((1, n), dtype=torch.long, device=self._device)
        else:
            self._cache, self._mask = _merge(self._cache, self._mask, cache, n)
        self._rows.append(seq)

    # scoring ------------------------------------------------------------------

    def _score_next(self) -> None:
        """Run the first score request whose adapter is ready (loaded as `_admit` does); one per step, so
        running rows keep decoding between them. Cancelled ones are dropped."""
        with self._cond:
            jobs = list(self._scoring)
        for job in jobs:
            req, fut = job
            error = None
            try:
                if not fut.cancelled() and req.adapter is not None and (
                        self._unload_pending(req.adapter) or not self._ensure_adapter(req.adapter)):
                    continue  # no adapter slot until running rows finish
            except Exception as exc:  # the adapter failed to load
                error = exc
            with self._cond:
                self._scoring.remove(job)
            if not fut.set_running_or_notify_cancel():
                continue

            def forward(input_ids, adapter=req.adapter, **kw):  # every row with the request's adapter
                return self._forward(input_ids, [adapter] * len(input_ids), **kw)

            try:
                if error is not None:
                    raise error
                fut.set_result(score_options(forward, req.prompt_ids, req.options, self._device))
            except Exception as exc:
                fut.set_exception(exc)
            return

    # decoding ---------------------------------------------------------------

    def _drop_cancelled(self) -> None:
        gone = [i for i, s in enumerate(self._rows) if s.cancelled]
        if gone:
            for i in gone:
                s = self._rows[i]
                self._emit(s, TokenEvent(token_id=None, text="", finish_reason="abort",
                                         prompt_tokens=len(s.req.prompt_ids), completion_tokens=len(s.token_ids)))
            self._remove_rows(set(gone))

    def _decode_step(self) -> None:
        rows = self._rows
        input_ids = torch.tensor([[s.last] for s in rows], device=self._device)  # (B, 1)
        position_ids = torch.tensor([[s.pos] for s in rows], device=self._device)  # (B, 1)
        mask = torch.cat([self._mask, self._mask.new_ones((len(rows), 1))], dim=1)  # (B, L + 1)
        out = self._forward(input_ids, [s.req.adapter for s in rows], past_key_values=self._cache,
                            attention_mask=mask, position_ids=position_ids)
        self._mask = mask
        self.steps += 1
        self.peak_running = max(self.peak_running, len(rows))
        self.peak_adapter_mix = max(self.peak_adapter_mix, len({s.req.adapter for s in rows}))
        logits = out.logits[:, -1, :]  # (B, V)
        done = set()
        for i, seq in enumerate(rows):
            seq.pos += 1
            try:
                if not self._after_logits(seq, logits[i:i + 1]):
                    done.add(i)
            except Exception as exc:  # this row's constraint failed: it ends, the others go on
                self._emit_error(seq, exc)
                done.add(i)
        if done:
            self._remove_rows(done)

    def _after_logits(self, seq: _Seq, logits: torch.Tensor) -> bool:
        """logits: (1, V) for the row's next position. Sample, emit, return whether the row goes on."""
        if seq.matcher is not None:
            logits = seq.matcher.mask(logits)
        token = int(sample_next(logits, seq.req.params, seq.generator)[0])
        if token in self._eos:
            self._emit(seq, TokenEvent(token_id=None, text=seq.text[seq.sent:], finish_reason="stop",
                                       prompt_tokens=len(seq.req.prompt_ids), completion_tokens=len(seq.token_ids)))
            return False
        logprob, top = None, []
        if seq.req.logprobs is not None:
            # Of the distribution sampled from, before temperature (the constraint mask included, as in
            # SequentialEngine); forbidden tokens (-inf) are left out of the top list.
            logprob, ids = token_logprobs(logits[0], token, seq.req.logprobs)
            top = [(self.loaded.tokenizer.decode([t]), v) for t, v in ids if v != float("-inf")]
        finish = self._accept(seq, token, logprob, top)
        if finish is None and seq.matcher is not None:
            plan = seq.matcher.closing_plan(seq.budget - len(seq.token_ids))
            # Close the output now so that it is complete within max_tokens: the plan's tokens are
            # what the grammar needs (no forward pass: they do not depend on the model).
            for i, t in enumerate(plan or ()):
                finish = self._accept(seq, t, None, [], last=i == len(plan) - 1)
                if finish is not None:
                    break
        return finish is None

    def _accept(self, seq: _Seq, token: int, logprob, top, last: bool = False) -> str | None:
        """Append a generated token: constraint, text, stop strings, budget; emit its event. Returns the
        finish reason when this token ends the sequence. `last`: the final token of a closing plan."""
        if seq.matcher is not None:
            seq.matcher.advance(token)
        seq.token_ids.append(token)
        seq.last = token
        finish = None
        piece = seq.decoder.push(token)
        if piece:
            new_from = len(seq.text)
            seq.text += piece
            cut = first_stop(seq.text, seq.req.params.stop, new_from)
            if cut is not None:
                seq.text, finish = seq.text[:cut], "stop"
        if finish is None and (last or (seq.matcher is not None and seq.matcher.done)):
            finish = "stop"  # the constraint is complete (EOS would be the only way on): stop here
        if finish is None and len(seq.token_ids) >= seq.budget:
            finish = "length"
        upto = len(seq.text) if finish else len(seq.text) - _stop_prefix_len(seq.text, seq.sent, seq.req.params.stop)
        self._emit(seq, TokenEvent(token_id=token, text=seq.text[seq.sent:upto], logprob=logprob, top_logprobs=top,
                                   finish_reason=finish, prompt_tokens=len(seq.req.prompt_ids),
                                   completion_tokens=len(seq.token_ids)))
        seq.sent = upto
        return finish

    # batch cache bookkeeping --------------------------------------------------

    def _remove_rows(self, gone: set[int]) -> None:
        keep = [i for i in range(len(self._rows)) if i not in gone]
        if not keep:
            self._reset_batch()
            return
        self._rows = [self._rows[i] for i in keep]
        idx = torch.tensor(keep, device=self._device)
        self._cache.batch_select_indices(idx)
        self._mask = self._mask[idx]
        # Columns that are padding in every remaining row (a long row left): cut them off.
        first = int(self._mask.any(dim=0).long().argmax())
        if first:
            for layer in self._cache.layers:
                layer.keys, layer.values = layer.keys[..., first:, :], layer.values[..., first:, :]
            self._mask = self._mask[:, first:]

    def _reset_batch(self) -> None:
        self._rows, self._cache, self._mask = [], None, None

    # events -------------------------------------------------------------------

    def _emit(self, seq: _Seq, event) -> None:
        self._outbox.setdefault(seq.loop, []).append((seq, event))

    def _emit_error(self, seq: _Seq, exc: BaseException) -> None:
        self._emit(seq, exc)

    def _flush(self) -> None:
        """One hand-over per event loop per step (call_soon_threadsafe is the only thread crossing)."""
        outbox, self._outbox = self._outbox, {}
        for loop, items in outbox.items():
            try:
                loop.call_soon_threadsafe(_deliver, items)
            except RuntimeError:  # that loop is closed: its consumers are gone
                for seq, _ in items:
                    seq.cancelled = True


def _stop_prefix_len(text: str, sent: int, stops: list[str]) -> int:
    """Length of the longest unsent tail of `text` that could still grow into a stop string: it is held
    back, so a client never receives part of a stop string (vLLM does the same)."""
    best = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text) - sent), best, -1):
            if text.endswith(s[:k]):
                best = k
                break
    return best


def _deliver(items) -> None:
    for seq, event in items:
        seq.queue.put_nowait(event)


def _pad_left(x: torch.Tensor, n: int, dim: int) -> torch.Tensor:
    if n == 0:
        return x
    shape = list(x.shape)
    shape[dim] = n
    return torch.cat([x.new_zeros(shape), x], dim=dim)


def _merge(cache, mask: torch.Tensor, row_cache, row_len: int):
    """Append a prefilled row (its cache: (1, H, row_len, D) per layer) to the batch, left-padding
    whichever side is shorter. Returns the new cache and (B + 1, L') attention mask."""
    from transformers import DynamicCache

    length = mask.shape[1]
    total = max(length, row_len)
    data = []
    for batch_layer, row_layer in zip(cache.layers, row_cache.layers):
        k = torch.cat([_pad_left(batch_layer.keys, total - length, 2), _pad_left(row_layer.keys, total - row_len, 2)])
        v = torch.cat([_pad_left(batch_layer.values, total - length, 2),
                       _pad_left(row_layer.values, total - row_len, 2)])
        data.append((k, v))
    row_mask = _pad_left(mask.new_ones((1, row_len)), total - row_len, 1)
    return DynamicCache(ddp_cache_data=data), torch.cat([_pad_left(mask, total - length, 1), row_mask])
