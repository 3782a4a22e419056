"""The errors every registry shares: a name that is not there (`UnknownNameError`) and a name that is
taken (`NameTakenError`). Both are ValueErrors, so the CLI prints them as one line; the library's own
errors (UnknownModelError, UnknownUpstreamError...) subclass them; the adapter errors live here
too, since the engine raises them. Imports nothing from TuneLab."""

from __future__ import annotations

from collections.abc import Iterable


class UnknownNameError(ValueError, KeyError):
    """No `kind` named `name`; `known` lists the names there are (or, for runs, the recent ones).

    Subclasses fix `kind` and may reword the message through the class attributes below; the
    message is built in one place (`__str__`)."""

    kind = "entry"
    template = "Unknown {kind} '{name}'. Known {kind}s: {known}."
    none = "(none)"  # shown in place of `known` when it is empty
    hint = ""  # the next step, appended to the message; may use {name}

    def __init__(self, name: str, known: Iterable[str] = (), *, kind: str | None = None) -> None:
        self.name, self.known = name, list(known)
        if kind is not None:
            self.kind = kind
        super().__init__(name)

    def __str__(self) -> str:
        message = self.template.format(kind=self.kind, name=self.name, known=", ".join(self.known) or self.none)
        return f"{message} {self.hint.format(name=self.name)}" if self.hint else message


class UnknownRunError(UnknownNameError):
    """A run id that is not there; `known` holds the most recent ids (there can be many runs)."""

    kind = "run"
    template = "No {kind} '{name}'. Recent runs: {known}."
    none = "none yet"


class AdapterError(ValueError):
    """An adapter that cannot be registered, found, merged, served or exported; the message says why.
    Here rather than in adapters/ because the engine (below adapters) raises UnknownAdapterError too."""


class UnknownAdapterError(AdapterError, UnknownNameError):
    kind = "adapter"


class NameTakenError(ValueError):
    """A row with this unique name exists already (found when the insert commits)."""

    def __init__(self, name: str, kind: str) -> None:
        self.name, self.kind = name, kind
        super().__init__(name)

    def __str__(self) -> str:
        article = "An" if self.kind[:1] in "aeiou" else "A"
        return f"{article} {self.kind} named '{self.name}' already exists."
