"""What a known caller may do, before any route runs: its key's scope for the route (scopes.py, one
table) and its requests-per-minute bucket (rate_limits.py). Sits inside `ApiKeyMiddleware`, which
has put the key on the request (`state["key"]`; None for the local caller of a server without keys,
who has every scope and no limit)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from tunelab.serve.errors import APIError, ForbiddenError
from tunelab.serve.scopes import allows, scope_for


class AccessMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = scope.get("state", {}).get("key") if scope["type"] == "http" else None
        if key is not None:
            try:
                self._check(scope, key)
            except APIError as err:
                await err.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _check(scope: Scope, key) -> None:
        path = scope.get("path", "")
        needed = scope_for(path)
        if not allows(key.scopes, needed):
            article = "an" if needed[0] in "aeiou" else "a"
            raise ForbiddenError(
                f"Only {article} {needed} key may call {path}: it needs the scope '{needed}', and the key "
                f"'{key.name}' has {', '.join(key.scopes)} (make one with: tunelab keys create NAME --scope {needed}).",
                code=f"{needed}_required")
        limiter = getattr(scope["app"].state, "rate_limits", None)
        if limiter is not None and path.startswith("/v1"):
            limiter.admit_request(key)
