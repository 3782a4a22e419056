"""Progress of an evaluation: runners call `progress(done, total)` as model×example items finish.
`tunelab.progress.Progress` is such a callback (a rich bar on a terminal, plain lines in a file)."""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[int, int], None]
