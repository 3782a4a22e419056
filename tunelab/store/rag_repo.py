"""RAG collections (`collections`) with their documents (`documents`, one per source) and ingest
reports (`ingest_reports`). Callers pass the Store, a collection's id and plain values, and get
detached rows or plain tuples back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tunelab.store.db import Store
from tunelab.store.repo import NamedRows, assign
from tunelab.store.tables import Collection, Document, IngestReport, utcnow


class CollectionsRows(NamedRows[Collection]):
    def merge_settings(self, store: Store, collection_id: int, values: dict[str, Any]) -> Collection:
        """Update the collection's `settings` with `values` (other keys stay)."""
        with store.session(immediate=True) as s:
            row = s.get(Collection, collection_id)
            row.settings = {**(row.settings or {}), **values}  # a new dict, so SQLAlchemy sees the change
            return row

    # -- documents -----------------------------------------------------------------------------
    def document_states(self, store: Store, collection_id: int) -> list[tuple[str, str, dict, int]]:
        """(source, content hash, meta, number of chunks) of each document of the collection."""
        with store.session() as s:
            rows = s.execute(select(Document.source, Document.content_hash, Document.meta, Document.num_chunks)
                             .where(Document.collection_id == collection_id))
            return [(source, digest, meta or {}, chunks) for source, digest, meta, chunks in rows]

    def save_document(self, store: Store, collection_id: int, source: str, **values: Any) -> None:
        """Insert or update the collection's document for `source`; `updated_at` becomes now."""
        with store.session(immediate=True) as s:
            row = s.scalar(select(Document).where(Document.collection_id == collection_id, Document.source == source))
            if row is None:
                row = Document(collection_id=collection_id, source=source)
                s.add(row)
            assign(row, {**values, "updated_at": utcnow()})

    def count_documents(self, store: Store, collection_id: int) -> int:
        with store.session() as s:
            return s.scalar(select(func.count()).select_from(Document).where(Document.collection_id == collection_id))

    # -- ingest reports ------------------------------------------------------------------------
    def add_report(self, store: Store, collection_id: int, source: str, counts: dict[str, int],
                   failures: list[dict[str, str]]) -> None:
        with store.session() as s:
            s.add(IngestReport(collection_id=collection_id, source=source, counts=counts, failures=failures))

    def reports(self, store: Store, collection_id: int) -> list[IngestReport]:
        """The collection's ingest reports, oldest first."""
        with store.session() as s:
            return list(s.scalars(select(IngestReport).where(IngestReport.collection_id == collection_id)
                                  .order_by(IngestReport.id)))


COLLECTIONS = CollectionsRows(Collection, "collection")
