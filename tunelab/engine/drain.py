"""How fast an engine drains its queue: the requests it finished recently, per second. A full
queue's `QueueFullError.retry_after_s` comes from it (the seconds until, at that rate, enough requests
finish for one more to fit), not a constant; with no finish seen yet, a fallback."""

from __future__ import annotations

import threading
import time
from collections import deque

from tunelab.engine.types import QueueFullError

WINDOW_S = 30.0  # finishes older than this no longer count
MAX_RETRY_S = 600.0


class DrainRate:
    """Finish times of the last `window_s` seconds. `record()` may be called from the model thread,
    `retry_after_s()` from the event loop: a lock guards the deque."""

    def __init__(self, *, window_s: float = WINDOW_S, fallback_s: float = 1.0, clock=time.monotonic) -> None:
        self.window_s, self.fallback_s, self._clock = window_s, fallback_s, clock
        self._done: deque[float] = deque()
        self._lock = threading.Lock()

    def record(self, n: int = 1) -> None:
        """`n` requests just finished (done, failed or cancelled: each left the engine)."""
        now = self._clock()
        with self._lock:
            self._done.extend([now] * n)
            self._trim(now)

    def per_second(self) -> float | None:
        """Requests finished per second over the window (since its first finish, at least 1 s); None
        when none finished within it."""
        now = self._clock()
        with self._lock:
            self._trim(now)
            if not self._done:
                return None
            return len(self._done) / max(now - self._done[0], 1.0)

    def retry_after_s(self, needed: int = 1) -> float:
        """Seconds until `needed` more requests finish at the recent rate (the fallback when unknown)."""
        rate = self.per_second()
        if rate is None:
            return self.fallback_s
        return min(max(needed, 1) / rate, MAX_RETRY_S)

    def queue_full(self, waiting: int, max_queue: int) -> QueueFullError:
        """The error for a full queue: retry once enough have finished for one more to fit."""
        return QueueFullError(self.retry_after_s(waiting - max_queue + 1))

    def _trim(self, now: float) -> None:  # caller holds the lock
        while self._done and now - self._done[0] > self.window_s:
            self._done.popleft()
