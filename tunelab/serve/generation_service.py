"""The service behind /v1/chat/completions and /v1/completions (on `app.state.generation`).

It knows what the server serves: which model ids exist (the base model, its adapters, upstream
models) and what a request may ask for (context length, max_tokens); it turns prompts into token
ids and runs the choices of a request on the engine (`ChoiceStream`: one `GenRequest` per choice,
all in flight together, merged into one stream of (choice index, TokenEvent)). The routes only
translate between OpenAI's shapes and this.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field

from tunelab.adapters.errors import UnknownAdapterError
from tunelab.adapters.registry import AdapterInfo, AdapterRegistry
from tunelab.adapters.servable import SERVED_KINDS, AdapterNotServableError, check_servable
from tunelab.engine.sampling import SamplingParams
from tunelab.engine.types import Constraint, GenerationEngine, GenRequest, TokenEvent
from tunelab.models.errors import ChatTemplateError
from tunelab.models.loader import LoadedModel
from tunelab.serve.errors import APIError, NotFoundError, from_exception
from tunelab.serve.metrics import ServeMetrics
from tunelab.serve.protocol import ChatMessage, Model
from tunelab.settings import Settings
from tunelab.upstreams.registry import UpstreamInfo


@dataclass(frozen=True)
class Target:
    """Where a request's `model` id leads: the base model, one of its adapters, or an upstream."""

    model: str  # the id as the client sent it
    adapter: str | None = None
    upstream: UpstreamInfo | None = None
    remote_model: str | None = None  # the upstream's own id for it


@dataclass
class ChoiceResult:
    """What one choice produced, collected for a non-streaming answer."""

    text: str = ""
    finish_reason: str | None = None
    completion_tokens: int = 0
    events: list[TokenEvent] = field(default_factory=list)  # kept only when logprobs were asked for


class ChoiceStream:
    """The choices of one request running together on the engine.

    `start()` returns once every choice has produced its first event, so an engine error (full
    queue, unknown adapter) surfaces before any byte of the answer is sent. `events()` yields
    (choice index, TokenEvent) until every choice has finished; `aclose()` cancels whatever is
    still running (it closes each engine iterator, which frees its slot in the engine).
    """

    def __init__(self, engine: GenerationEngine, reqs: list[GenRequest], *, on_event=None, trace=None) -> None:
        self.engine, self.reqs, self.on_event, self.trace = engine, reqs, on_event, trace
        self._queue: asyncio.Queue = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._buffer: list[tuple[int, TokenEvent | BaseException]] = []
        self._finished: set[int] = set()

    @property
    def n(self) -> int:
        return len(self.reqs)

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._pump(i, r)) for i, r in enumerate(self.reqs)]
        waiting = set(range(self.n))
        try:
            while waiting:
                i, item = await self._queue.get()
                if isinstance(item, BaseException):
                    raise item
                self._buffer.append((i, item))
                waiting.discard(i)
        except BaseException:
            self.trace = None  # refused before any answer (a full queue, an unknown adapter): nothing to trace
            await self.aclose()
            raise

    async def _pump(self, i: int, req: GenRequest) -> None:
        it = self.engine.generate(req)
        try:
            async for event in it:
                self._queue.put_nowait((i, event))
        except Exception as exc:  # noqa: BLE001 - handed to the consumer
            self._queue.put_nowait((i, exc))
        finally:
            close = getattr(it, "aclose", None)
            if close is not None:
                await close()

    async def events(self) -> AsyncIterator[tuple[int, TokenEvent]]:
        while len(self._finished) < self.n:
            i, item = self._buffer.pop(0) if self._buffer else await self._queue.get()
            if isinstance(item, BaseException):
                raise item
            if self.on_event is not None:
                self.on_event(i, item)
            if item.finish_reason is not None:
                self._finished.add(i)
            yield i, item

    @property
    def done(self) -> bool:
        return len(self._finished) == self.n

    async def aclose(self) -> None:
        for t in self._tasks:
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.trace is not None:  # the request's trace (tunelab.serve.tracing), written once
            await self.trace.finish(cancelled=not self.done)

    async def collect(self, client_gone: Awaitable | None = None) -> list[ChoiceResult] | None:
        """Every choice's whole output. When `client_gone` (an awaitable that completes when the
        client disconnects) completes first, the choices are cancelled and None is returned."""
        if client_gone is None:
            return await self._collect()
        work, watch = asyncio.ensure_future(self._collect()), asyncio.ensure_future(client_gone)
        try:
            await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
        if work.done():
            return work.result()
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        await self.aclose()
        return None

    async def _collect(self) -> list[ChoiceResult]:
        results = [ChoiceResult() for _ in range(self.n)]
        keep = any(r.logprobs is not None for r in self.reqs)
        try:
            async for i, ev in self.events():
                res = results[i]
                res.text += ev.text
                res.completion_tokens = ev.completion_tokens
                if ev.finish_reason is not None:
                    res.finish_reason = ev.finish_reason
                if keep and ev.token_id is not None:
                    res.events.append(ev)
        finally:
            await self.aclose()
        return results


class GenerationService:
    def __init__(self, loaded: LoadedModel, engine: GenerationEngine, registry: AdapterRegistry,
                 settings: Settings, metrics: ServeMetrics, upstreams=None, tracer=None) -> None:
        self.loaded, self.engine, self.registry = loaded, engine, registry
        self.settings, self.metrics, self.upstreams = settings, metrics, upstreams
        self.tracer = tracer  # a Tracer (tunelab.serve.tracing), or None: nothing traced
        self.created = int(time.time())

    # -- what is served ---------------------------------------------------------------------------

    @property
    def base_name(self) -> str:
        return self.loaded.name

    @property
    def context_length(self) -> int:
        limit = self.loaded.context_length
        if self.settings.max_context_tokens:
            limit = min(limit, self.settings.max_context_tokens)
        return limit

    def adapters(self) -> list[AdapterInfo]:
        """Registered adapters this server can run (LoRA adapters of its base model)."""
        return [a for a in self.registry.list() if a.kind in SERVED_KINDS and a.base_model == self.base_name]

    def models(self) -> list[Model]:
        quant = self.loaded.quantization if self.loaded.quantization in ("none", "int8") else None
        out = [Model(id=self.base_name, created=self.created, owned_by="tunelab", tunelab_kind="base",
                     tunelab_quantization=quant)]
        for a in self.adapters():
            created = int(a.created_at.timestamp()) if a.created_at else self.created
            out.append(Model(id=a.name, created=created, owned_by="tunelab", parent=self.base_name,
                             tunelab_kind="adapter", tunelab_quantization=quant))
        return out

    def resolve(self, model: str) -> Target:
        """The target of a request's `model`; 404 listing what exists when it names nothing."""
        if model == self.base_name:
            return Target(model)
        if "/" in model and self.upstreams is not None:
            name, remote = model.split("/", 1)
            upstream = self.upstreams.find(name)
            if upstream is not None:
                return Target(model, upstream=upstream, remote_model=remote)
        try:
            info = self.registry.get(model)
        except UnknownAdapterError:
            raise self.not_found(model) from None
        try:
            check_servable(info, self.base_name)
        except AdapterNotServableError as exc:
            raise from_exception(exc) from None
        return Target(model, adapter=model)

    def not_found(self, model: str) -> NotFoundError:
        known = [m.id for m in self.models()]
        if self.upstreams is not None:
            known += [f"{u.name}/..." for u in self.upstreams.list()]
        return NotFoundError(f"The model '{model}' does not exist on this server. Available models: "
                             f"{', '.join(known)} (GET /v1/models lists them all).",
                             param="model", code="model_not_found")

    # -- prompts and limits -----------------------------------------------------------------------

    def chat_prompt_ids(self, messages: list[ChatMessage]) -> list[int]:
        try:
            text = self.loaded.chat_prompt([m.to_template() for m in messages])
        except ChatTemplateError as exc:
            raise APIError(str(exc), param="messages") from None
        return self.loaded.tokenizer(text, add_special_tokens=False)["input_ids"]

    def text_prompt_ids(self, prompt: str | list[int]) -> list[int]:
        if isinstance(prompt, str):
            return self.loaded.tokenizer(prompt)["input_ids"]
        vocab = len(self.loaded.tokenizer)
        bad = [t for t in prompt if not 0 <= t < vocab]
        if bad:
            raise APIError(f"Token id {bad[0]} in the prompt is outside the vocabulary (0..{vocab - 1}).",
                           param="prompt")
        return list(prompt)

    def decode(self, ids: list[int]) -> str:
        return self.loaded.tokenizer.decode(ids, skip_special_tokens=True)

    def token_text(self, token_id: int) -> str:
        return self.loaded.tokenizer.decode([token_id])

    def max_tokens_for(self, prompt_len: int, requested: int | None, *, param: str = "max_tokens",
                       prompt_param: str = "messages") -> int:
        """How many tokens a request may generate; 400 naming the limit it breaks."""
        context, cap = self.context_length, self.settings.max_new_tokens
        if prompt_len >= context:
            raise APIError(f"This model's maximum context length is {context} tokens. However, your prompt has "
                           f"{prompt_len} tokens, which leaves no room for a completion. Please shorten it.",
                           param=prompt_param, code="context_length_exceeded")
        if requested is not None and requested > cap:
            raise APIError(f"{param} is {requested}, above this server's limit of {cap} tokens per request "
                           f"(TUNELAB_MAX_NEW_TOKENS).", param=param, code="max_tokens_exceeded")
        if requested is not None and prompt_len + requested > context:
            raise APIError(f"This model's maximum context length is {context} tokens. However, you requested "
                           f"{prompt_len + requested} tokens ({prompt_len} in the prompt, {requested} for the "
                           f"completion). Please reduce the prompt or {param}.", param=param,
                           code="context_length_exceeded")
        return requested if requested is not None else min(cap, context - prompt_len)

    # -- running ----------------------------------------------------------------------------------

    async def open(self, target: Target, prompts: list[list[int]], sampling: SamplingParams, *, n: int = 1,
                   constraint: Constraint | None = None, logprobs: int | None = None,
                   trace_prompt: list[dict] | None = None, trace_kind: str = "chat",
                   sources: list | None = None) -> ChoiceStream:
        """Start every choice (n per prompt; choice index = prompt index * n + j) and wait for the
        first event of each. With a seed, choice j samples with seed + j: reproducible, and the n
        choices still differ. `trace_prompt` (the prompt as chat messages) and `sources` (a grounded
        request's) are what a trace of the request records, when the tracer traces it."""
        rid = uuid.uuid4().hex[:16]
        reqs = []
        for p, ids in enumerate(prompts):
            for j in range(n):
                params = sampling
                if sampling.seed is not None and j:
                    params = sampling.model_copy(update={"seed": sampling.seed + j})
                reqs.append(GenRequest(request_id=f"{rid}-{p * n + j}", prompt_ids=ids, params=params,
                                       adapter=target.adapter, constraint=constraint, logprobs=logprobs))
        model = target.model
        self.metrics.prompt_tokens.labels(model).inc(sum(len(ids) for ids in prompts))
        started = time.perf_counter()
        first = [True]
        trace = None
        if self.tracer is not None and trace_prompt is not None:
            trace = self.tracer.begin(trace_kind, model, target.adapter, trace_prompt, constraint=constraint,
                                      sources=sources)
        if trace is not None:
            trace.prompt_tokens = sum(len(ids) for ids in prompts)

        def on_event(_i: int, ev: TokenEvent) -> None:
            if trace is not None:
                trace.on_event(_i, ev)
            if first[0]:
                first[0] = False
                self.metrics.ttft.labels(model).observe(time.perf_counter() - started)
            if ev.token_id is not None:
                self.metrics.completion_tokens.labels(model).inc()

        stream = ChoiceStream(self.engine, reqs, on_event=on_event, trace=trace)
        try:
            await stream.start()
        except Exception as exc:  # noqa: BLE001
            raise from_exception(exc) from exc
        return stream
