"""Browser sessions for the dashboard: a signed cookie that stands for an API key, and the CSRF
token that goes with it.

`SessionCodec(secret).issue(key)` makes the cookie value: the key's name and creation time, an
expiry and a random nonce, signed with HMAC-SHA256. `read(value)` checks signature and expiry; the
middleware then checks that the key is still active and is the same key (a revoked name used again
is another key, with another creation time), so revoking a key ends its sessions at once. The CSRF
token is derived from the nonce (HMAC again), so nothing is stored: the page gets it in a meta tag
and sends it back in the `X-CSRF-Token` header, which a cross-site page cannot read or forge.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

COOKIE = "tunelab_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Session:
    key_name: str
    key_created: float  # the key's created_at as a POSIX timestamp: binds the session to that very key
    expires: float
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    def __init__(self, secret: bytes, ttl_s: float) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def issue(self, key_name: str, key_created: float, *, now: float | None = None) -> tuple[str, Session]:
        """The cookie value for a new session of the key, and the session it stands for."""
        session = Session(key_name, key_created, (now or time.time()) + self.ttl_s, secrets.token_urlsafe(16))
        payload = _b64(json.dumps({"k": session.key_name, "c": session.key_created, "e": session.expires,
                                   "n": session.nonce}, separators=(",", ":")).encode())
        return payload + "." + self._sign(payload), session

    def read(self, value: str, *, now: float | None = None) -> Session | None:
        """The session a cookie value stands for, or None (forged, damaged or expired)."""
        payload, _, signature = value.partition(".")
        if not payload or not hmac.compare_digest(self._sign(payload), signature):
            return None
        try:
            data = json.loads(_unb64(payload))
            session = Session(str(data["k"]), float(data["c"]), float(data["e"]), str(data["n"]))
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires > (now or time.time()) else None

    def csrf_token(self, session: Session) -> str:
        return self._sign("csrf:" + session.nonce)

    def csrf_ok(self, session: Session, token: str) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), token)


def load_secret(home: Path) -> bytes:
    """The server's signing secret, made once under the home dir (readable by its owner only), so
    sessions survive a restart; delete the file to end every session."""
    path = home / "secrets" / "session.key"
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_bytes(32)
    try:  # O_EXCL: two processes starting at once keep the first one's secret
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
    return secret


def cookie_from(headers) -> str | None:
    """The session cookie's value from ASGI headers, if any."""
    for key, value in headers:
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, _, val = part.strip().partition("=")
                if name == COOKIE and val:
                    return val
    return None


def header(headers, name: bytes) -> str:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return ""


def same_origin(headers) -> bool:
    """False when the browser says the request comes from another site (Origin or, lacking it,
    Sec-Fetch-Site); True for programs, which send neither."""
    origin = header(headers, b"origin")
    if origin:
        host = header(headers, b"host")
        return origin.split("://", 1)[-1] == host
    return header(headers, b"sec-fetch-site") in ("", "same-origin", "none")
