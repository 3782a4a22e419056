"""Errors a user can act on. All are ValueErrors, so the CLI prints them as one line and exits 2."""

from __future__ import annotations

from tunelab.store.errors import UnknownNameError


class RagError(ValueError):
    """Base class for ingest, index and search errors."""


class UnknownCollectionError(RagError, UnknownNameError):
    kind = "collection"
    template = "No collection '{name}'. Collections: {known}."
    none = "(none yet)"
    hint = "Create one with: tunelab ingest PATH|URL --collection {name}"


class EmbeddingMismatchError(RagError):
    """A collection is searched (or extended) with another embedding model than it was built with."""


class VectorStoreError(RagError):
    """The Chroma store cannot be opened or reached."""


class MappingError(RagError):
    """A catalogue field mapping that names unknown keys or fields."""
