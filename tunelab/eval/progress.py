"""Progress of an evaluation: runners call `progress(done, total)` as model×example items finish;
`rich_progress(console)` is such a callback drawing a rich bar with count, rate and ETA."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

ProgressFn = Callable[[int, int], None]


class RateColumn(ProgressColumn):
    """Items per second since the bar started."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- it/s" if speed is None else f"{speed:.2f} it/s", style="progress.data.speed")


@contextmanager
def rich_progress(console: Console | None = None, description: str = "eval") -> Iterator[ProgressFn]:
    """A `ProgressFn` that draws on `console` (stderr by default) until the block ends."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console or Console(stderr=True), transient=False) as bar:
        task_id = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task_id, completed=done, total=total)

        yield update
