"""POST /v1/chat/completions: local models through the engine, `NAME/model` through upstream NAME.

Streaming sends what OpenAI sends: a chunk with the role for each choice, content chunks, a chunk
with the finish_reason, a usage chunk (empty choices) when stream_options.include_usage, then
`data: [DONE]`. Grounded in a collection (tunelab_collection), a local stream also carries the sources:
a chunk with empty choices and `tunelab_sources` before any content, and one with `tunelab_citations`
after the last finish_reason.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from tunelab.engine.types import TokenEvent
from tunelab.rag.answer import SourceRef, cited_sources, grounding_messages, last_user_text
from tunelab.serve.errors import APIError, from_exception
from tunelab.serve.generation_service import ChoiceStream, GenerationService
from tunelab.serve.protocol import (
    ChatChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionRequest,
    ChatMessage,
    ChoiceDelta,
    ChoiceLogprobs,
    ChunkChoice,
    TokenLogprob,
    TopLogprob,
    Usage,
)
from tunelab.serve.rate_limits import TokenCharge, admit_tokens
from tunelab.serve.sse import CLIENT_CLOSED, DONE, EventStreamResponse, client_gone, sse
from tunelab.serve.upstream_proxy import forward

router = APIRouter(tags=["chat"])

FINGERPRINT = "fp_tunelab"


def token_logprobs(svc: GenerationService, events: list[TokenEvent]) -> ChoiceLogprobs:
    content = []
    for ev in events:
        text = svc.token_text(ev.token_id)
        content.append(TokenLogprob(
            token=text, bytes=list(text.encode()), logprob=ev.logprob if ev.logprob is not None else 0.0,
            top_logprobs=[TopLogprob(token=t, bytes=list(t.encode()), logprob=lp) for t, lp in ev.top_logprobs],
        ))
    return ChoiceLogprobs(content=content)


@router.post("/v1/chat/completions", response_model=None, responses={200: {
    "model": ChatCompletion, "description": "The completion; with `stream`, server-sent ChatCompletionChunk events."}})
async def create_chat_completion(body: ChatCompletionRequest, request: Request) -> Response:
    state = request.app.state
    svc: GenerationService = state.generation
    target = svc.resolve(body.model)
    hits = None
    if body.tunelab_collection is not None:
        body, hits = await ground(state.tasks, body)
    if target.upstream is not None:
        payload = await request.json()
        if hits is not None:  # the grounded conversation goes on, without our own fields
            payload = {k: v for k, v in payload.items() if not k.startswith("tunelab_")}
            payload["messages"] = [m.model_dump(exclude_none=True) for m in body.messages]
        return await forward(state.upstreams, target.upstream, "chat/completions", payload,
                                             remote_model=target.remote_model, model_id=target.model,
                                             stream=bool(body.stream))
    prompt_ids = svc.chat_prompt_ids(body.messages)
    param = "max_completion_tokens" if body.max_completion_tokens is not None else "max_tokens"
    max_tokens = svc.max_tokens_for(len(prompt_ids), body.requested_max_tokens(), param=param)
    charge = admit_tokens(request, len(prompt_ids) + max_tokens * body.n)  # settled to the usage below
    try:
        stream = await svc.open(target, [prompt_ids], body.to_sampling(default_max_tokens=max_tokens), n=body.n,
                                constraint=body.to_constraint(), logprobs=body.logprobs_k(),
                                trace_prompt=[m.to_template() for m in body.messages],
                                sources=None if hits is None else sources_fields(hits, "")["tunelab_sources"])
    except BaseException:
        charge.settle(0)
        raise
    cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return EventStreamResponse(_chunks(svc, stream, body, cid, created, len(prompt_ids), include_usage, hits,
                                           charge))
    results = await stream.collect(client_gone=client_gone(request))
    charge.settle(len(prompt_ids) + sum(r.completion_tokens for r in results or ()))
    if results is None:  # the client hung up: its generation was cancelled, nobody reads an answer
        svc.metrics.cancelled.inc()
        return Response(status_code=CLIENT_CLOSED)
    choices = [
        ChatChoice(index=i, finish_reason=r.finish_reason, message=ChatCompletionMessage(content=r.text),
                   logprobs=token_logprobs(svc, r.events) if body.logprobs else None)
        for i, r in enumerate(results)
    ]
    completion = sum(r.completion_tokens for r in results)
    usage = Usage(prompt_tokens=len(prompt_ids), completion_tokens=completion,
                  total_tokens=len(prompt_ids) + completion)
    answer = ChatCompletion(id=cid, choices=choices, created=created, model=body.model,
                            system_fingerprint=FINGERPRINT, usage=usage).model_dump(mode="json")
    if hits is not None:
        answer.update(sources_fields(hits, results[0].text))
    return JSONResponse(answer)


async def ground(tasks, body: ChatCompletionRequest) -> tuple[ChatCompletionRequest, list]:
    """The request with the collection's sources for its last user message in the system message."""

    messages = [m.to_template() for m in body.messages]
    query = last_user_text(messages)
    if not query.strip():
        raise APIError("tunelab_collection needs a user message to search for.", param="messages")
    hits = await tasks.retrieve(body.tunelab_collection, query, k=body.tunelab_k)
    grounded = [ChatMessage(role=m["role"], content=m["content"]) for m in grounding_messages(messages, hits)]
    return body.model_copy(update={"messages": grounded}), hits


def sources_fields(hits: list, text: str) -> dict:
    """tunelab_sources (every retrieved chunk, numbered as in the prompt) and tunelab_citations (the
    ones the reply cites with [n])."""


    sources = [asdict(SourceRef.of(i, h)) for i, h in enumerate(hits, start=1)]
    return {"tunelab_sources": sources, "tunelab_citations": [asdict(c) for c in cited_sources(text, hits)]}


async def _chunks(svc: GenerationService, stream: ChoiceStream, body: ChatCompletionRequest, cid: str,
                  created: int, prompt_tokens: int, include_usage: bool, hits: list | None,
                  charge: TokenCharge) -> AsyncIterator[str]:
    exclude = None if include_usage else {"usage"}

    def chunk(choices: list[ChunkChoice], usage: Usage | None = None, **ours) -> str:
        c = ChatCompletionChunk(id=cid, choices=choices, created=created, model=body.model,
                                system_fingerprint=FINGERPRINT, usage=usage)
        return sse({**c.model_dump(mode="json", exclude=exclude), **ours}) if ours else sse(c, exclude=exclude)

    completion = [0] * stream.n
    first_text = ""  # choice 0's reply, for its citations
    try:
        if hits is not None:
            yield chunk([], tunelab_sources=sources_fields(hits, "")["tunelab_sources"])
        for i in range(stream.n):
            yield chunk([ChunkChoice(index=i, delta=ChoiceDelta(role="assistant", content=""))])
        async for i, ev in stream.events():
            completion[i] = ev.completion_tokens
            if i == 0:
                first_text += ev.text
            logprobs = token_logprobs(svc, [ev]) if body.logprobs and ev.token_id is not None else None
            if ev.text or logprobs is not None:
                yield chunk([ChunkChoice(index=i, delta=ChoiceDelta(content=ev.text), logprobs=logprobs)])
            if ev.finish_reason is not None:
                yield chunk([ChunkChoice(index=i, delta=ChoiceDelta(), finish_reason=ev.finish_reason)])
        if hits is not None:
            yield chunk([], tunelab_citations=sources_fields(hits, first_text)["tunelab_citations"])
        if include_usage:
            total = sum(completion)
            yield chunk([], Usage(prompt_tokens=prompt_tokens, completion_tokens=total,
                                  total_tokens=prompt_tokens + total))
        yield DONE
    except Exception as exc:  # noqa: BLE001 - the status line is gone: report in the stream
        yield sse(from_exception(exc).body())
        yield DONE
    finally:
        charge.settle(prompt_tokens + sum(completion))
        if not stream.done:
            svc.metrics.cancelled.inc()
        await stream.aclose()
