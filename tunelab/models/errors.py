"""Errors a user can act on: each message says what went wrong, where, and what to do next."""

from tunelab.store.errors import UnknownNameError


class ModelError(Exception):
    """Base class for model catalogue and loading errors."""


class UnknownModelError(ModelError, UnknownNameError):
    kind = "model"
    hint = "Register one with: tunelab models add NAME SOURCE"


class ModelSourceError(ModelError):
    """A folder or file that is missing, unreadable or not a model."""


class HubUnreachableError(ModelError):
    pass


class ChatTemplateError(ModelError):
    pass
