import threading

import pytest

from tunelab.models.torch_threads import on_own_thread


def test_runs_on_a_thread_that_has_ended_and_returns_its_value():
    seen = {}

    def work():
        seen["thread"] = threading.current_thread()
        return 42

    assert on_own_thread(work) == 42
    assert seen["thread"] is not threading.current_thread()
    assert not seen["thread"].is_alive()  # its OpenMP team (if any) went with it


def test_the_callers_exception_is_the_functions():
    def fail():
        raise ValueError("bad recipe at line 3")

    with pytest.raises(ValueError, match="bad recipe at line 3"):
        on_own_thread(fail)


def test_run_torch_awaits_a_thread_of_its_own():
    import asyncio

    from tunelab.models.torch_threads import run_torch

    seen = []

    def work(a, b=0):
        seen.append(threading.current_thread())
        return a + b

    async def go():
        assert await run_torch(work, 2, b=3) == 5
        assert await run_torch(work, 1) == 1
        with pytest.raises(KeyError):
            await run_torch(lambda: {}["missing"])

    asyncio.run(go())
    assert seen[0] is not seen[1]  # a new thread each call, not a pooled one
    assert not any(t.is_alive() for t in seen)
