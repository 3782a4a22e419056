"""Run torch work on a thread of its own, so the OpenMP team it makes ends with it.

torch's CPU kernels run on OpenMP (libgomp), which keeps a team of worker threads for every thread
that has run a parallel op, for as long as that thread lives. Once a process holds more OpenMP
threads than CPUs, libgomp stops spinning between parallel regions and puts its threads to sleep
instead, and every small parallel op then pays a wake-up: on a 2-core CPU, training on the main
thread and then decoding on an engine's thread decodes at about half speed (README, "Fast decode").
`on_own_thread(fn)` runs `fn` on a thread that ends when it returns, so the next thread to run
torch (an engine's) is the only one with a team.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def on_own_thread(fn: Callable[[], T], name: str = "tunelab-torch") -> T:
    """fn() on a new thread; its result, or its exception raised here. The thread is a daemon, so
    Ctrl-C in the caller ends the process rather than waiting for it."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 -- handed to the caller, whatever it is
            box["error"] = exc

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
