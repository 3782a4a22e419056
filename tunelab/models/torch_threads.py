"""Run torch work on a thread of its own, so the OpenMP team it makes ends with it.

torch's CPU kernels run on OpenMP (libgomp), which keeps a team of worker threads for every thread
that has run a parallel op, for as long as that thread lives. Once a process holds more OpenMP
threads than CPUs, libgomp stops spinning between parallel regions and puts its threads to sleep
instead, and every small parallel op then pays a wake-up: on a 2-core CPU, training on the main
thread and then decoding on an engine's thread decodes at about half speed (README, "Fast decode").
`on_own_thread(fn)` runs `fn` on a thread that ends when it returns, and `await run_torch(fn, ...)`
does so from async code (where `asyncio.to_thread` would leave a pooled thread with a team behind),
so the engine's model thread stays the one thread with a team. On the Xeon of the README, the
quickstart adapter's classify eval of 20 items took 20.0 s so against 31.5 s on pooled threads.
"""

from __future__ import annotations

import asyncio
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


async def run_torch(fn: Callable[..., T], *args, **kwargs) -> T:
    """`await asyncio.to_thread(fn, ...)`, but on a new thread that ends with the call rather than a
    pooled one: a pooled thread that has run torch keeps its OpenMP team while it lives (asyncio's
    executor threads live as long as the loop), and that halves an engine thread's decode speed."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()

    def settle(setter, value) -> None:
        if not done.done():
            setter(value)

    def run() -> None:
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 -- handed to the caller, whatever it is
            outcome = (done.set_exception, exc)
        else:
            outcome = (done.set_result, value)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop closed while this ran (a cancelled caller): nobody waits
            pass

    threading.Thread(target=run, name="tunelab-torch", daemon=True).start()
    return await done
