"""Progress of long work that reads well on a terminal and in a file. `Progress(console, "eval",
total=400)` draws a rich bar (count, rate, ETA, the caller's fields) when `console` is a terminal;
otherwise it prints plain lines such as `train: step 12/40  loss 1.2345  312 tok/s  ETA 1:32`, at
most one every `interval_s` seconds, and always the first and the last. `OutputConsole` is a rich
Console that does not cut lines (tables) at 80 columns when its output is a file or a pipe.

Imports only the standard library, rich and `tunelab.settings`: every layer may use it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console, ConsoleDimensions
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text

from tunelab.settings import Settings

FILE_WIDTH = 10_000  # columns of a console writing to a file or pipe: a table keeps all of its columns
DEFAULT_INTERVAL_S: float = Settings.model_fields["progress_interval_s"].default


class OutputConsole(Console):
    """A rich Console whose width, when it writes to a file or a pipe (not a terminal), is
    `FILE_WIDTH` rather than 80: tables keep every column and long lines are not wrapped. On a
    terminal it is the terminal's width, as usual; a `width=` given to it always wins. Decided at
    each print, so a console made at import time follows where its output goes later."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._fixed_width = kwargs.get("width") is not None
        super().__init__(*args, **kwargs)
        self._fixed_width = kwargs.get("width") is not None

    @property
    def size(self) -> ConsoleDimensions:
        size = Console.size.fget(self)
        if self._fixed_width or self.is_terminal or self.is_jupyter:
            return size
        return ConsoleDimensions(FILE_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)
        self._fixed_width = True

    @property
    def width(self) -> int:
        return self.size.width

    @width.setter
    def width(self, width: int) -> None:
        Console.width.fset(self, width)
        self._fixed_width = width is not None


def draws_live(console: Console) -> bool:
    """Whether `console` can redraw a bar in place (a terminal or a notebook), not a file or pipe."""
    return console.is_terminal or console.is_jupyter


def duration(seconds: float) -> str:
    """`m:ss`, or `h:mm:ss` from an hour: 92 -> '1:32'."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def rate_text(per_s: float | None, unit: str) -> str:
    if per_s is None:
        return f"- {unit}/s"
    return f"{per_s:,.0f} {unit}/s" if per_s >= 100 else f"{per_s:.1f} {unit}/s"


class RateColumn(ProgressColumn):
    """Items per second (rich's estimate over the last seconds), in the caller's unit."""

    def __init__(self, unit: str = "items") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        return Text(rate_text(task.finished_speed or task.speed, self.unit), style="progress.data.speed")


class Progress:
    """One piece of long work: `update(completed, total=..., label=..., **fields)` as it goes.

    `fields` maps each field the caller passes to `update` to its template, e.g.
    `{"loss": "loss {}", "tps": "{} tok/s"}`; a field shows "-" until given. `noun` comes before
    the count in plain lines ("step 12/40"); `rate_unit` names the rate ("8.1 items/s"; None: no
    rate). `clock` (seconds, monotonic) is there for tests. Use it as a context manager; with
    `enabled=False` it shows nothing."""

    def __init__(self, console: Console | None, label: str, *, total: int | None = None, completed: int = 0,
                 noun: str = "", rate_unit: str | None = "items", fields: Mapping[str, str] | None = None,
                 interval_s: float | None = None, enabled: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console if console is not None else OutputConsole(stderr=True)
        self.label, self.total, self.completed = label, total, completed
        self.noun, self.rate_unit, self.templates = noun, rate_unit, dict(fields or {})
        self.values = {name: "-" for name in self.templates}
        self.interval_s = DEFAULT_INTERVAL_S if interval_s is None else interval_s
        self.enabled, self.clock = enabled, clock
        self.live = enabled and draws_live(self.console)
        self._bar: RichProgress | None = None
        self._task = None
        self._started = self._start_count = None
        self._finished_at: float | None = None  # rate and time stop here once the count is complete
        self._last_line: tuple | None = None
        self._last_line_at: float | None = None

    # -- the context ---------------------------------------------------------------------------
    def __enter__(self) -> Progress:
        self._started, self._start_count = self.clock(), self.completed
        if self.live:
            columns: list[ProgressColumn] = [TextColumn("{task.description}", style="bold", markup=False), BarColumn(),
                                             MofNCompleteColumn()]
            columns += [TextColumn(t.replace("{}", f"{{task.fields[{name}]}}"), markup=False)
                        for name, t in self.templates.items()]
            if self.rate_unit:
                columns.append(RateColumn(self.rate_unit))
            columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
            self._bar = RichProgress(*columns, console=self.console, transient=False)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total, completed=self.completed, **self.values)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif self.enabled and self._started is not None and self._state() != self._last_line:
            self._print_line()  # where the work ended, when the last update was not printed yet

    # -- updates -------------------------------------------------------------------------------
    def update(self, completed: int | None = None, *, total: int | None = None, advance: int = 0,
               label: str | None = None, **fields: Any) -> None:
        """Set the count (or `advance` it), the total, the label or fields; show them as is due."""
        unknown = set(fields) - set(self.templates)
        if unknown:
            raise ValueError(f"Progress '{self.label}' has no field {sorted(unknown)}; its fields: {sorted(self.templates)}.")
        if self._started is None:
            raise RuntimeError("use Progress as a context manager: `with Progress(...) as progress:`")
        if total is not None:
            self.total = total
        if completed is not None:
            if completed < self.completed or completed <= self._start_count:
                # counting (again) from here, e.g. a new phase from 0: the rate starts over
                self._started, self._start_count = self.clock(), completed
            self.completed = completed
        self.completed += advance
        if not self.finished:
            self._finished_at = None
        elif self._finished_at is None:
            self._finished_at = self.clock()
        new_label = label is not None and label != self.label
        if label is not None:
            self.label = label
        self.values.update({name: str(value) for name, value in fields.items()})
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=self.completed, total=self.total, description=self.label,
                             **self.values)
            return
        now = self.clock()
        due = (self._last_line_at is None or new_label or self.finished
               or now - self._last_line_at >= self.interval_s)
        if due and self._state() != self._last_line:
            self._print_line(now)

    def advance(self, n: int = 1) -> None:
        self.update(advance=n)

    def __call__(self, done: int, total: int) -> None:
        """The `progress(done, total)` callback shape the eval runners call."""
        self.update(done, total=total)

    # -- plain lines ---------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.total is not None and self.completed >= self.total

    def rate(self, now: float | None = None) -> float | None:
        """Items per second since the work started (or its count last started again) until now or
        until the count was complete."""
        elapsed = self._until(now) - self._started
        done = self.completed - self._start_count
        return done / elapsed if elapsed > 0 and done > 0 else None

    def line(self, now: float | None = None) -> str:
        """The plain line for the current state, e.g. `eval: 120/400  8.1 items/s  ETA 0:35`."""
        now = self.clock() if now is None else now
        count = f"{self.completed}/{self.total}" if self.total is not None else str(self.completed)
        parts = [f"{self.label}: {self.noun + ' ' if self.noun else ''}{count}"]
        parts += [t.replace("{}", self.values[name]) for name, t in self.templates.items()]
        rate = self.rate(now)
        if self.rate_unit:
            parts.append(rate_text(rate, self.rate_unit))
        if self.finished:
            parts.append(f"done in {duration(self._until(now) - self._started)}")
        elif self.total is not None:
            parts.append(f"ETA {duration((self.total - self.completed) / rate)}" if rate else "ETA -")
        return "  ".join(parts)

    def _until(self, now: float | None) -> float:
        if self._finished_at is not None:
            return self._finished_at
        return self.clock() if now is None else now

    def _state(self) -> tuple:
        return self.label, self.completed, self.total, tuple(self.values.values())

    def _print_line(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        self.console.print(self.line(now), markup=False, highlight=False, soft_wrap=True)
        self._last_line, self._last_line_at = self._state(), now

