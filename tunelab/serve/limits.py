"""Request body size limit: a body over `max_bytes` is answered 413 before it is parsed, whether
the client announced its length (Content-Length) or streams it in chunks."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tunelab.serve.errors import error_response


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a chunked body passes the limit. An HTTPException, so FastAPI's
    body parsing lets it through and the error handler answers 413 in OpenAI's shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


def too_large_message(limit: int) -> str:
    return (f"The request body is larger than this server's limit of {limit} bytes "
            f"(TUNELAB_MAX_REQUEST_BYTES).")


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    announced = int(value)
                except ValueError:
                    announced = 0
                if announced > self.max_bytes:
                    resp = error_response(413, too_large_message(self.max_bytes), code="request_too_large")
                    await resp(scope, receive, send)
                    return
        seen = [0]
        started = [False]

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started[0] = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started[0]:
                raise
            resp = error_response(413, too_large_message(self.max_bytes), code="request_too_large")
            await resp(scope, receive, send)
