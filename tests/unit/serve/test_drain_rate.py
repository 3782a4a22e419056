"""DrainRate: a full queue's Retry-After follows the requests finished per second recently (a fake
clock makes the figures exact); with none finished in the window, the fallback."""

from __future__ import annotations

import pytest

from tunelab.engine.drain import MAX_RETRY_S, DrainRate


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_retry_after_is_the_time_for_the_needed_finishes_at_the_recent_rate():
    clock = Clock()
    drain = DrainRate(window_s=30.0, fallback_s=7.0, clock=clock)
    assert drain.retry_after_s() == 7.0  # nothing measured yet
    for _ in range(4):  # 4 finishes over 8 s: 0.5 per second
        drain.record()
        clock.t += 2.0
    assert drain.per_second() == pytest.approx(4 / 8)
    assert drain.retry_after_s() == pytest.approx(2.0)
    assert drain.retry_after_s(needed=3) == pytest.approx(6.0)
    drain.record(6)  # a batch of 6 ends together: 10 over 8 s
    assert drain.retry_after_s() == pytest.approx(8 / 10)


def test_old_finishes_leave_the_window_and_slow_rates_are_capped():
    clock = Clock()
    drain = DrainRate(window_s=30.0, fallback_s=3.0, clock=clock)
    drain.record()
    clock.t += 31.0
    assert drain.per_second() is None and drain.retry_after_s() == 3.0
    drain.record()
    clock.t += 0.1  # one finish 0.1 s ago: the span counts as at least 1 s
    assert drain.retry_after_s() == pytest.approx(1.0)
    assert drain.retry_after_s(needed=10**9) == MAX_RETRY_S
