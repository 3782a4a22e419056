"""Errors a user can act on: each message says what went wrong, where, and what to do next."""


class ModelError(Exception):
    """Base class for model catalogue and loading errors."""


class UnknownModelError(ModelError, KeyError):
    def __init__(self, name: str, known: list[str]):
        self.name, self.known = name, known
        super().__init__(name)

    def __str__(self) -> str:
        listing = ", ".join(self.known) if self.known else "(none)"
        return f"Unknown model '{self.name}'. Known models: {listing}. Register one with: tunelab models add NAME SOURCE"


class ModelSourceError(ModelError):
    """A folder or file that is missing, unreadable or not a model."""


class HubUnreachableError(ModelError):
    pass


class ChatTemplateError(ModelError):
    pass
