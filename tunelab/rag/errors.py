"""Errors a user can act on. All are ValueErrors, so the CLI prints them as one line and exits 2."""

from __future__ import annotations


class RagError(ValueError):
    """Base class for ingest, index and search errors."""


class UnknownCollectionError(RagError, KeyError):
    def __init__(self, name: str, known: list[str]):
        self.name, self.known = name, known
        super().__init__(name)

    def __str__(self) -> str:
        listing = ", ".join(self.known) if self.known else "(none yet)"
        return (f"No collection '{self.name}'. Collections: {listing}. "
                f"Create one with: tunelab ingest PATH|URL --collection {self.name}")


class EmbeddingMismatchError(RagError):
    """A collection is searched (or extended) with another embedding model than it was built with."""


class VectorStoreError(RagError):
    """The Chroma store cannot be opened or reached."""


class MappingError(RagError):
    """A catalogue field mapping that names unknown keys or fields."""
