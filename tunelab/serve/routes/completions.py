"""POST /v1/completions (text in, text out): one or more prompts (text or token ids), n choices
each (choice index = prompt index * n + j), echo, logprobs, streaming as OpenAI streams it."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from tunelab.engine.types import TokenEvent
from tunelab.serve.errors import from_exception
from tunelab.serve.generation_service import ChoiceStream, GenerationService
from tunelab.serve.protocol import Completion, CompletionChoice, CompletionLogprobs, CompletionRequest, Usage
from tunelab.serve.rate_limits import TokenCharge, admit_tokens
from tunelab.serve.routes.chat import FINGERPRINT
from tunelab.serve.sse import CLIENT_CLOSED, DONE, EventStreamResponse, client_gone, sse
from tunelab.serve.upstream_proxy import forward

router = APIRouter(tags=["completions"])


def completion_logprobs(svc: GenerationService, events: list[TokenEvent], offset: int = 0) -> CompletionLogprobs:
    out = CompletionLogprobs()
    for ev in events:
        text = svc.token_text(ev.token_id)
        out.tokens.append(text)
        out.token_logprobs.append(ev.logprob)
        out.top_logprobs.append(dict(ev.top_logprobs) if ev.top_logprobs else None)
        out.text_offset.append(offset)
        offset += len(text)
    return out


@router.post("/v1/completions", response_model=None, responses={200: {
    "model": Completion, "description": "The completion; with `stream`, server-sent Completion events."}})
async def create_completion(body: CompletionRequest, request: Request) -> Response:
    state = request.app.state
    svc: GenerationService = state.generation
    target = svc.resolve(body.model)
    if target.upstream is not None:
        return await forward(state.upstreams, target.upstream, "completions", await request.json(),
                                             remote_model=target.remote_model, model_id=target.model,
                                             stream=bool(body.stream))
    prompts = [svc.text_prompt_ids(p) for p in body.prompts()]
    longest = max(len(p) for p in prompts)
    max_tokens = svc.max_tokens_for(longest, body.requested_max_tokens(), prompt_param="prompt")
    sampling = body.to_sampling(default_max_tokens=max_tokens)
    prompt_tokens = sum(len(p) for p in prompts)
    charge = admit_tokens(request, prompt_tokens + max_tokens * body.n * len(prompts))  # settled to the usage
    try:
        stream = await svc.open(target, prompts, sampling, n=body.n, constraint=body.to_constraint(),
                                logprobs=body.logprobs, trace_kind="completion",
                                trace_prompt=[{"role": "user", "content": p if isinstance(p, str) else svc.decode(p)}
                                              for p in body.prompts()[:1]])
    except BaseException:
        charge.settle(0)
        raise
    echoes = [svc.decode(p) if body.echo else "" for p in prompts for _ in range(body.n)]
    cid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return EventStreamResponse(_chunks(svc, stream, body, cid, created, echoes, prompt_tokens, include_usage,
                                           charge))
    results = await stream.collect(client_gone=client_gone(request))
    charge.settle(prompt_tokens + sum(r.completion_tokens for r in results or ()))
    if results is None:  # the client hung up: its generation was cancelled, nobody reads an answer
        svc.metrics.cancelled.inc()
        return Response(status_code=CLIENT_CLOSED)
    choices = [
        CompletionChoice(index=i, text=echoes[i] + r.text, finish_reason=r.finish_reason,
                         logprobs=completion_logprobs(svc, r.events, len(echoes[i]))
                         if body.logprobs is not None else None)
        for i, r in enumerate(results)
    ]
    completion = sum(r.completion_tokens for r in results)
    usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=completion, total_tokens=prompt_tokens + completion)
    answer = Completion(id=cid, choices=choices, created=created, model=body.model, system_fingerprint=FINGERPRINT,
                        usage=usage)
    return JSONResponse(answer.model_dump(mode="json"))


async def _chunks(svc: GenerationService, stream: ChoiceStream, body: CompletionRequest, cid: str, created: int,
                  echoes: list[str], prompt_tokens: int, include_usage: bool,
                  charge: TokenCharge) -> AsyncIterator[str]:
    exclude = None if include_usage else {"usage"}

    def chunk(choices: list[CompletionChoice], usage: Usage | None = None) -> str:
        return sse(Completion(id=cid, choices=choices, created=created, model=body.model,
                              system_fingerprint=FINGERPRINT, usage=usage), exclude=exclude)

    completion = [0] * stream.n
    offsets = [len(e) for e in echoes]
    try:
        for i, echo in enumerate(echoes):
            if echo:
                yield chunk([CompletionChoice(index=i, text=echo)])
        async for i, ev in stream.events():
            completion[i] = ev.completion_tokens
            logprobs = None
            if body.logprobs is not None and ev.token_id is not None:
                logprobs = completion_logprobs(svc, [ev], offsets[i])
                offsets[i] += len(logprobs.tokens[0])
            if ev.text or logprobs is not None:
                yield chunk([CompletionChoice(index=i, text=ev.text, logprobs=logprobs)])
            if ev.finish_reason is not None:
                yield chunk([CompletionChoice(index=i, text="", finish_reason=ev.finish_reason)])
        if include_usage:
            total = sum(completion)
            yield chunk([], Usage(prompt_tokens=prompt_tokens, completion_tokens=total,
                                  total_tokens=prompt_tokens + total))
        yield DONE
    except Exception as exc:  # noqa: BLE001
        yield sse(from_exception(exc).body())
        yield DONE
    finally:
        charge.settle(prompt_tokens + sum(completion))
        if not stream.done:
            svc.metrics.cancelled.inc()
        await stream.aclose()
