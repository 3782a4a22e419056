"""What `BatchingEngine.generate` returns: an async iterator of `TokenEvent`s that arrive from the
engine's model thread through the caller's event loop. Closing it (aclose, the consumer task
cancelled, or garbage collection) cancels the request inside the engine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from tunelab.engine.decode import Decoding
from tunelab.engine.types import TokenEvent


@dataclass(eq=False)
class Row:
    """One request inside the engine. Touched by the model thread only, except `cancelled`."""

    seq: Decoding
    loop: asyncio.AbstractEventLoop  # the consumer's event loop and queue (not the stream itself, so
    queue: asyncio.Queue  # that dropping the stream lets it be collected, which cancels the request)
    cancelled: bool = False
    pos: int = 0  # real tokens in this row's cache = position id of `seq.last`

    @property
    def req(self):
        return self.seq.req


class EventStream:
    def __init__(self, row: Row | None, cancel: Callable[[Row], None] | None = None,
                 error: BaseException | None = None) -> None:
        self._row, self._on_cancel = row, cancel
        self._error = error  # raised on the first __anext__ (queue full, prompt too long, bad constraint)
        self._closed = False

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> TokenEvent:
        if self._error is not None:
            err, self._error, self._closed = self._error, None, True
            raise err
        if self._closed:
            raise StopAsyncIteration
        try:
            item = await self._row.queue.get()
        except BaseException:  # CancelledError: the consumer went away
            self._cancel()
            raise
        if isinstance(item, BaseException):
            self._closed = True
            raise item
        if item.finish_reason is not None:
            self._closed = True
        return item

    async def aclose(self) -> None:
        self._cancel()

    def _cancel(self) -> None:
        if not self._closed:
            self._closed = True
            if self._row is not None:
                self._on_cancel(self._row)

    def __del__(self) -> None:
        try:
            self._cancel()
        except Exception:  # interpreter shutdown
            pass


def deliver(items: list[tuple[Row, TokenEvent | BaseException]]) -> None:
    """On the consumer's event loop: hand each event to its row's queue."""
    for row, event in items:
        row.queue.put_nowait(event)


class Outbox:
    """Events the model thread made during one step, handed to each consumer's event loop at once:
    one `call_soon_threadsafe` per loop per step, the only crossing between the threads."""

    def __init__(self) -> None:
        self._items: dict[asyncio.AbstractEventLoop, list] = {}

    def emit(self, row: Row, event: TokenEvent | BaseException) -> None:
        self._items.setdefault(row.loop, []).append((row, event))

    def flush(self) -> None:
        items, self._items = self._items, {}
        for loop, batch in items.items():
            try:
                loop.call_soon_threadsafe(deliver, batch)
            except RuntimeError:  # that loop is closed: its consumers are gone
                for row, _ in batch:
                    row.cancelled = True
