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
