"""Per-key rate limits: requests a minute (RPM) and tokens a minute (TPM), each a token bucket.

A bucket holds up to `per_minute` and refills at `per_minute / 60` a second. A request takes one
from the key's RPM bucket (access.py, before the route runs); a generation takes its prompt plus
`max_tokens` (times n) from the TPM bucket at admission (`admit_tokens`), and once it is done the
charge is corrected to the usage it really had (`TokenCharge.settle`: unused tokens go back, a
bucket may go below zero and later requests wait longer). A refusal is a 429 whose `Retry-After` is
computed from the bucket: the seconds until it has refilled enough. Limits are the key's own
(`tunelab keys create --rpm --tpm`) or the server's default (TUNELAB_RATE_LIMIT_RPM / _TPM, 0: off);
the local caller of a server without keys is not limited. Buckets live in this process's memory.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from starlette.requests import Request

from tunelab.serve.errors import RateLimitError


class TokenBucket:
    def __init__(self, per_minute: int, clock=time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # refill a second
        self._clock = clock
        self._level = self.capacity
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:  # caller holds the lock
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._at) * self.rate)
        self._at = now

    def take(self, n: float) -> float:
        """Take `n` (at most the capacity, so a big request waits for a full bucket instead of
        forever): 0.0 when taken, else the seconds until there is enough, and nothing is taken."""
        n = min(n, self.capacity)
        with self._lock:
            self._refill()
            if self._level >= n:
                self._level -= n
                return 0.0
            return (n - self._level) / self.rate

    def give(self, n: float) -> None:
        """Return `n` (negative: take more, which may leave the bucket below zero)."""
        with self._lock:
            self._refill()
            self._level = min(self.capacity, self._level + n)

    @property
    def level(self) -> float:
        with self._lock:
            self._refill()
            return self._level


@dataclass(frozen=True)
class Limits:
    rpm: int = 0  # 0: no limit
    tpm: int = 0


class RateLimiter:
    """The buckets of every key, made on first use; a key whose limits change gets new ones."""

    def __init__(self, default: Limits = Limits(), clock=time.monotonic) -> None:
        self.default, self._clock = default, clock
        self._buckets: dict[tuple[str, str, int], TokenBucket] = {}
        self._lock = threading.Lock()

    def limits_of(self, key) -> Limits:
        """A key's limits (a `KeyInfo`; None: the local caller, never limited)."""
        if key is None:
            return Limits()
        return Limits(rpm=self.default.rpm if key.rpm is None else key.rpm,
                      tpm=self.default.tpm if key.tpm is None else key.tpm)

    def bucket(self, name: str, kind: str, per_minute: int) -> TokenBucket:
        with self._lock:
            b = self._buckets.get((name, kind, per_minute))
            if b is None:
                b = self._buckets[(name, kind, per_minute)] = TokenBucket(per_minute, self._clock)
            return b

    def admit_request(self, key) -> None:
        """Take one request from the key's RPM bucket; RateLimitError (429) when it is empty."""
        rpm = self.limits_of(key).rpm
        if rpm:
            wait = self.bucket(key.name, "rpm", rpm).take(1)
            if wait:
                raise _refusal(key.name, "requests", rpm, wait)

    def admit_tokens(self, key, tokens: int) -> TokenCharge:
        """Take `tokens` from the key's TPM bucket; RateLimitError (429) when there are not enough."""
        tpm = self.limits_of(key).tpm
        if not tpm:
            return TokenCharge(None, 0)
        bucket = self.bucket(key.name, "tpm", tpm)
        wait = bucket.take(tokens)
        if wait:
            raise _refusal(key.name, "tokens", tpm, wait)
        return TokenCharge(bucket, min(tokens, tpm))


@dataclass
class TokenCharge:
    """What a generation took from its TPM bucket; `settle(used)` corrects it to the real usage once."""

    bucket: TokenBucket | None
    charged: int

    def settle(self, used: int) -> None:
        if self.bucket is not None:
            self.bucket.give(self.charged - used)
            self.bucket = None


def _refusal(name: str, what: str, per_minute: int, wait_s: float) -> RateLimitError:
    retry = max(1, math.ceil(wait_s))
    unit = "RPM" if what == "requests" else "TPM"
    err = RateLimitError(f"Rate limit reached for key '{name}' on {what} per minute ({unit}): limit {per_minute}. "
                         f"Please try again in {retry}s.", code="rate_limit_exceeded",
                         headers={"Retry-After": str(retry)})
    err.type = what  # OpenAI's error type for these: "requests" or "tokens"
    return err


def admit_tokens(request: Request, tokens: int) -> TokenCharge:
    """The route's side: charge `tokens` to the caller's key (nothing for the local caller)."""
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limits", None)
    key = getattr(request.state, "key", None)
    if limiter is None or key is None:
        return TokenCharge(None, 0)
    return limiter.admit_tokens(key, tokens)
