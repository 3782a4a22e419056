"""API keys for the server, stored as salted SHA-256 hashes in the `api_keys` table.

`ApiKeys(store).create(name)` returns the secret once (only its hash and first characters are
kept); `list()` and `revoke(name)` manage them. While no active key exists the server is open (a
fresh install on loopback); once one exists, every /v1 route needs `Authorization: Bearer <key>`
(`ApiKeyMiddleware`), and /health and /metrics stay open. The middleware puts who asks on the
request (`request.state.caller`, a `Caller`: the key's name and whether it is an admin key; with no
key at all, the local admin) and the key itself (`request.state.key`, a `KeyInfo` with its scopes
and rate limits; None for the local caller). The secrets are 256-bit random strings,
so one SHA-256 round with a per-key salt is enough (a slow hash defends guessable passwords).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from tunelab.jobs.service import LOCAL, Caller
from tunelab.models.catalogue import NAME_RE
from tunelab.serve.errors import error_response
from tunelab.serve.scopes import ADMIN, DEFAULT_SCOPES, parse_scopes
from tunelab.serve.scopes import decode as decode_scopes
from tunelab.serve.scopes import encode as encode_scopes
from tunelab.serve.sessions import SAFE_METHODS, Session, SessionCodec, cookie_from, header, same_origin
from tunelab.store import API_KEYS, ApiKey, NameTakenError, Store, utcnow

SECRET_PREFIX = "tl-"
PREFIX_LEN = 11  # "tl-" + 8 random characters: stored in clear to find the row
CACHE_S = 1.0  # how long a lookup is trusted: a new or revoked key counts within a second


@dataclass(frozen=True)
class KeyInfo:
    name: str
    prefix: str
    created_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    rpm: int | None = None  # requests a minute; None: the server's default
    tpm: int | None = None  # tokens a minute; None: the server's default

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def admin(self) -> bool:
        return ADMIN in self.scopes

    @property
    def caller(self) -> Caller:
        return Caller(owner=self.name, admin=self.admin)


def _hash(secret: str, salt: str) -> str:
    return "sha256$" + salt + "$" + hashlib.sha256((salt + secret).encode()).hexdigest()


def _matches(secret: str, stored: str) -> bool:
    try:
        scheme, salt, _ = stored.split("$", 2)
    except ValueError:
        return False
    return scheme == "sha256" and hmac.compare_digest(_hash(secret, salt), stored)


def _info(row: ApiKey) -> KeyInfo:
    scopes = decode_scopes(row.scopes) or ((ADMIN,) if row.admin else DEFAULT_SCOPES)
    return KeyInfo(row.name, row.prefix, row.created_at, row.revoked_at, row.last_used_at, scopes, row.rpm, row.tpm)


class ApiKeys:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._active_cache: tuple[float, bool] | None = None
        self._verified: dict[str, tuple[float, KeyInfo | None]] = {}  # sha256(secret) -> (when, key)
        self._sessions: dict[tuple[str, float], tuple[float, KeyInfo | None]] = {}

    def create(self, name: str, *, admin: bool = False, scopes: Iterable[str] | None = None,
               rpm: int | None = None, tpm: int | None = None) -> str:
        """A new key named `name` with `scopes` (default: infer and train; `admin` adds admin, which
        passes every scope) and its own limits a minute (`rpm`, `tpm`; None: the server's default, 0:
        none); returns the secret, which is never shown again."""
        if not NAME_RE.match(name):
            raise ValueError(f"Key name '{name}' must be 1-128 letters, digits, '.', '_' or '-'.")
        wanted = parse_scopes([*(scopes or ([] if admin else DEFAULT_SCOPES)), *([ADMIN] if admin else [])])
        for what, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value < 0:
                raise ValueError(f"A key's {what} must be 0 (no limit) or more, not {value}.")
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        try:  # a revoked key's name can be used again: that row is replaced
            API_KEYS.add(self.store, name=name, prefix=secret[:PREFIX_LEN],
                         secret_hash=_hash(secret, secrets.token_hex(16)), admin=ADMIN in wanted,
                         scopes=encode_scopes(wanted), rpm=rpm, tpm=tpm,
                         replace=lambda old: old.revoked_at is not None)
        except NameTakenError:
            raise ValueError(f"A key named '{name}' already exists; revoke it first (tunelab keys revoke {name}) "
                             f"or pick another name.") from None
        self._forget()
        return secret

    def list(self) -> list[KeyInfo]:
        return [_info(r) for r in API_KEYS.all(self.store)]

    def revoke(self, name: str) -> KeyInfo:
        row = API_KEYS.revoke(self.store, name, utcnow())
        if row is None:
            active = [k.name for k in self.list() if k.active]
            raise ValueError(f"No active key named '{name}'. Active keys: {', '.join(active) or '(none)'}.")
        self._forget()
        return _info(row)

    def required(self) -> bool:
        """True once any active key exists."""
        now = time.monotonic()
        if self._active_cache is None or now - self._active_cache[0] > CACHE_S:
            self._active_cache = (now, API_KEYS.any_active(self.store))
        return self._active_cache[1]

    def verify(self, secret: str) -> str | None:
        """The name of the active key `secret` is, or None."""
        who = self.identify(secret)
        return who.owner if who is not None else None

    def identify(self, secret: str) -> Caller | None:
        """Who the active key `secret` is (its name, admin or not), or None."""
        key = self.identify_key(secret)
        return key.caller if key is not None else None

    def identify_key(self, secret: str) -> KeyInfo | None:
        """The active key `secret` is (its scopes and limits too), or None."""
        now = time.monotonic()
        digest = hashlib.sha256(secret.encode()).hexdigest()
        cached = self._verified.get(digest)
        if cached is not None and now - cached[0] <= CACHE_S:
            return cached[1]
        who = None
        if secret.startswith(SECRET_PREFIX) and len(secret) > PREFIX_LEN:
            for row in API_KEYS.active_with_prefix(self.store, secret[:PREFIX_LEN]):
                if _matches(secret, row.secret_hash):
                    who = _info(row)
                    # At most one write a minute per key: the hot path stays read-only.
                    if row.last_used_at is None or (utcnow() - _aware(row.last_used_at)).total_seconds() > 60:
                        API_KEYS.update(self.store, row.id, last_used_at=utcnow())
                    break
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[digest] = (now, who)
        return who

    def login(self, secret: str) -> KeyInfo | None:
        """The active key `secret` is, with its creation time (a session is bound to it), or None."""
        return self.identify_key(secret)

    def for_session(self, session: Session) -> Caller | None:
        """Who a dashboard session acts as: its key while that very key is active, else None."""
        key = self.session_key(session)
        return key.caller if key is not None else None

    def session_key(self, session: Session) -> KeyInfo | None:
        """The key a dashboard session acts as while that very key is active, else None."""
        now = time.monotonic()
        cache_key = (session.key_name, session.key_created)
        cached = self._sessions.get(cache_key)
        if cached is not None and now - cached[0] <= CACHE_S:
            return cached[1]
        key = next((k for k in self.list() if k.name == session.key_name and k.active), None)
        who = None
        if key is not None and key.created_at is not None and abs(_aware(key.created_at).timestamp()
                                                                 - session.key_created) < 1e-3:
            who = key
        if len(self._sessions) > 10_000:
            self._sessions.clear()
        self._sessions[cache_key] = (now, who)
        return who

    def _forget(self) -> None:
        self._active_cache = None
        self._verified.clear()
        self._sessions.clear()


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class ApiKeyMiddleware:
    """Who asks, on every HTTP request: `scope["state"]["caller"]` (request.state.caller) is the key's
    `Caller`, or LOCAL while no key exists; `scope["state"]["session"]` is the dashboard session, if any.

    Once a key exists, /v1/* needs `Authorization: Bearer <key>` or a dashboard session cookie (401 in
    OpenAI's shape otherwise); a state-changing request on a session must carry its CSRF token, and one
    without an Authorization header that a browser marks as cross-site is refused even on an open
    server (a page elsewhere must not drive a local TuneLab)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "app" not in scope:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["caller"], state["key"] = LOCAL, None
        refusal = await self._check(scope, state)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope, state: dict):
        app_state = scope["app"].state
        keys: ApiKeys | None = getattr(app_state, "keys", None)
        codec: SessionCodec | None = getattr(app_state, "sessions", None)
        headers = scope.get("headers", ())
        path = scope.get("path", "")
        auth = header(headers, b"authorization")
        unsafe = scope.get("method", "GET") not in SAFE_METHODS
        if unsafe and not auth and not same_origin(headers):
            return error_response(403, "Cross-site request refused: send it from the dashboard's own page "
                                  "or with an Authorization header.", code="cross_site_request")
        if keys is None:
            return None
        # The key look-ups may read the store (cached a second): in a worker thread, never on the event
        # loop, where a SQLite lock would stall every request.
        required = await anyio.to_thread.run_sync(keys.required)
        cookie = cookie_from(headers) if codec is not None and required else None
        session = codec.read(cookie) if cookie else None
        who_by_session = await anyio.to_thread.run_sync(keys.session_key, session) if session else None
        if who_by_session is not None:
            state["session"] = session
        if not (path.startswith("/v1") and required):
            if who_by_session is not None:
                state["caller"], state["key"] = who_by_session.caller, who_by_session
            return None
        scheme, _, token = auth.partition(" ")
        if not auth and who_by_session is not None:
            if unsafe and not codec.csrf_ok(session, header(headers, b"x-csrf-token")):
                return error_response(403, "The request lacks the dashboard's CSRF token (X-CSRF-Token); "
                                      "reload the page.", code="csrf_failed")
            state["caller"], state["key"] = who_by_session.caller, who_by_session
            return None
        if scheme.lower() != "bearer" or not token.strip():
            return error_response(401, "You didn't provide an API key. Send it in the Authorization header: "
                                  "'Authorization: Bearer YOUR_KEY' (create one with: tunelab keys create NAME).",
                                  code="missing_api_key")
        who = await anyio.to_thread.run_sync(keys.identify_key, token.strip())
        if who is None:
            shown = token.strip()[:PREFIX_LEN] + "..." if len(token.strip()) > PREFIX_LEN else "***"
            return error_response(401, f"Incorrect API key provided: {shown}. It is unknown or revoked "
                                  "(tunelab keys list shows the keys).", code="invalid_api_key")
        state["caller"], state["key"] = who.caller, who
        return None
