"""What flows through ingest: a `RawDocument` (one file, page or catalogue record, with its
source key and type), the `Chunk`s cut from it, and a `Failure` (a source that was skipped, and why)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

DOC_TYPES = ("markdown", "text", "html", "pdf", "product", "code")


@dataclass
class RawDocument:
    source: str  # absolute path, URL, or file#record-id for a catalogue record
    doc_type: str  # one of DOC_TYPES
    text: str
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # product fields, language, pages, url...

    @property
    def content_hash(self) -> str:
        """sha256 of the text, title and metadata: any change to what gets indexed changes it."""
        payload = json.dumps([self.doc_type, self.title, self.text, self.meta], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class Chunk:
    id: str  # stable: derived from the document source and the chunk's position
    text: str
    meta: dict[str, Any]  # source, position, doc_type, title, section, and a product's fields


@dataclass(frozen=True)
class Failure:
    source: str
    reason: str
    kind: str = "failed"  # failed: unreadable, binary, bad record | skipped: robots.txt, off-site

    def as_dict(self) -> dict[str, str]:
        return {"source": self.source, "reason": self.reason, "kind": self.kind}
