"""Server-sent events as OpenAI streams them: `data: {json}\n\n` per chunk, then `data: [DONE]\n\n`,
and noticing a client that hangs up.

`EventStreamResponse` closes its body iterator when the client goes away (and when it ends), so
the generation behind it is cancelled at once instead of whenever the iterator is collected.
`client_gone(request)` completes when the client of a non-streaming request disconnects.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

DONE = "data: [DONE]\n\n"
CLIENT_CLOSED = 499  # nginx's status for "the client closed the connection": logged, never received


async def client_gone(request: Request) -> None:
    """Returns when the client disconnects. Call it once the body has been read: from then on the
    only message the server can receive is http.disconnect."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def sse(data: BaseModel | dict, **dump: Any) -> str:
    """One event. `dump` goes to pydantic's model_dump_json (exclude=..., for instance)."""
    text = data.model_dump_json(**dump) if isinstance(data, BaseModel) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n"


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"

    def __init__(self, content, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        super().__init__(content, status_code=status_code,
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})},
                         media_type=self.media_type)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as tg:

                async def stream() -> None:
                    try:
                        await self.stream_response(send)
                    except OSError:  # the client went away while we wrote
                        pass
                    tg.cancel_scope.cancel()

                tg.start_soon(stream)
                await self.listen_for_disconnect(receive)
                tg.cancel_scope.cancel()
        finally:
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await close()
