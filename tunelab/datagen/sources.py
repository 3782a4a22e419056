"""What data is generated from: `SourceChunk`s cut from files and folders (the RAG loaders: Markdown,
HTML, PDF, text, catalogues), from a RAG collection's stored chunks, or from the packaged e-commerce
catalogue. Each chunk knows its source and where it sits in that document's text (`start`, `end`).

Offsets index the document's text as TuneLab reads it: the file itself for Markdown and text, the
extracted text for HTML and PDF, the product text for a catalogue record. A collection's chunk gets
offsets when its source file is still there to read; otherwise they are None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from tunelab.datagen.errors import DatagenError
from tunelab.rag.chunk import ChunkConfig, chunk_document, product_text
from tunelab.rag.documents import Chunk, Failure, RawDocument
from tunelab.rag.loaders import load_file, load_path
from tunelab.rag.mapping import FieldMapping
from tunelab.rag.registry import CollectionRegistry
from tunelab.settings import Settings
from tunelab.store import Store

CATALOGUE = "catalogue"  # the packaged e-commerce sample's products (train split unless `catalogue:SPLIT`)
COLLECTION_PREFIX = "collection:"


@dataclass(frozen=True)
class SourceChunk:
    text: str
    source: str  # the document: a path, a URL, or file#record-id
    chunk_id: str
    position: int  # the chunk's place in its document
    start: int | None  # doc_text[start:end] is the chunk (newlines aside: a CRLF file's chunk has LF)
    end: int | None
    title: str | None = None
    section: str | None = None

    def provenance(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "text"}


def locate(chunk: str, text: str, after: int = 0) -> tuple[int, int] | None:
    """Where `chunk` sits in `text`, searching from `after`: exactly, or with any newline style
    (chunking joins lines with LF); None when it is not there."""
    at = text.find(chunk, after)
    if at < 0:
        at = text.find(chunk)
    if at >= 0:
        return at, at + len(chunk)
    pattern = re.compile("".join(r"(?:\r\n|\r|\n)" if ch == "\n" else re.escape(ch) for ch in chunk))
    m = pattern.search(text, after) or pattern.search(text)
    return (m.start(), m.end()) if m else None


def document_chunks(doc: RawDocument, config: ChunkConfig) -> list[SourceChunk]:
    """`doc` cut as ingest cuts it, each chunk located in the document's text."""
    text = product_text(doc) if doc.doc_type == "product" else doc.text
    out, after = [], 0
    for chunk in chunk_document(doc, config):
        span = locate(chunk.text, text, after)
        if span is not None:
            after = span[0] + 1
        out.append(_source_chunk(chunk, span))
    return out


def _source_chunk(chunk: Chunk, span: tuple[int, int] | None) -> SourceChunk:
    m = chunk.meta
    return SourceChunk(text=chunk.text, source=str(m.get("source", "")), chunk_id=chunk.id,
                       position=int(m.get("position", 0)), start=span[0] if span else None,
                       end=span[1] if span else None, title=m.get("title"), section=m.get("section"))


def _catalogue_documents(split: str) -> list[RawDocument]:
    from tunelab.tasks.ecommerce.datasets import load_sample_products, sample_path  # lazy: the sample loads on use

    path = sample_path("products")
    docs = []
    for p in load_sample_products(split=split):
        meta = {"record_id": p.id, "category": p.category_path, "brand": p.brand, "price": p.price}
        docs.append(RawDocument(source=f"{path}#{p.id}", doc_type="product", title=p.title,
                                text="\n".join([p.description, *p.bullet_points]).strip(),
                                meta={k: v for k, v in meta.items() if v is not None}))
    return docs


def _collection_chunks(name: str, settings: Settings, store: Store) -> list[SourceChunk]:
    registry = CollectionRegistry(store, settings)
    info = registry.get(name)
    hits = sorted(registry.vectors(info).all_chunks(),
                  key=lambda h: (str(h.meta.get("source", "")), int(h.meta.get("position", 0))))
    texts: dict[str, str | None] = {}
    out = []
    for hit in hits:
        source = str(hit.meta.get("source", ""))
        if source not in texts:
            texts[source] = _reread(source)
        text = texts[source]
        span = locate(hit.text, text) if text is not None else None
        out.append(_source_chunk(Chunk(id=hit.id, text=hit.text, meta=hit.meta), span))
    return out


def _reread(source: str) -> str | None:
    """The text of a collection document whose source is a readable file, as the loaders read it."""
    path = Path(source.split("#", 1)[0])
    if "#" in source or not path.is_file():  # a catalogue record or a web page: not re-read
        return None
    docs = [d for d in load_file(path) if isinstance(d, RawDocument)]
    return docs[0].text if len(docs) == 1 else None


def resolve_kind(spec: str, settings: Settings, store: Store) -> tuple[str, str]:
    """('files', path) | ('collection', name) | ('catalogue', split) for one --from value."""
    if spec == CATALOGUE or spec.startswith(CATALOGUE + ":"):
        split = spec.partition(":")[2] or "train"
        if split not in ("train", "validation", "test"):
            raise DatagenError(f"--from {spec}: the catalogue's splits are train, validation and test.")
        return "catalogue", split
    if spec.startswith(COLLECTION_PREFIX):
        return "collection", spec[len(COLLECTION_PREFIX):]
    if Path(spec).expanduser().exists():
        return "files", spec
    names = CollectionRegistry(store, settings).names()
    if spec in names:
        return "collection", spec
    raise DatagenError(f"--from {spec}: not a file or folder, a collection ({', '.join(names) or 'none yet'}) or "
                       f"'{CATALOGUE}' (the packaged e-commerce products).")


def load_chunks(specs: Iterable[str], settings: Settings, store: Store, *, chunking: ChunkConfig,
                mapping: FieldMapping | None = None) -> tuple[list[SourceChunk], list[Failure]]:
    """Every chunk of every source, in a stable order, and the sources that gave no text (with why).
    Raises DatagenError naming each failed file when nothing at all is readable."""
    chunks: list[SourceChunk] = []
    failures: list[Failure] = []
    for spec in specs:
        kind, value = resolve_kind(spec, settings, store)
        if kind == "collection":
            got = _collection_chunks(value, settings, store)
            if not got:
                failures.append(Failure(f"collection {value}", "the collection holds no chunks"))
            chunks.extend(got)
            continue
        docs = _catalogue_documents(value) if kind == "catalogue" else load_path(value, mapping)
        before, failed_before = len(chunks), len(failures)
        for doc in docs:
            if isinstance(doc, Failure):
                failures.append(doc)
            else:
                chunks.extend(c for c in document_chunks(doc, chunking) if c.text.strip())
        if kind == "files" and len(chunks) == before and len(failures) == failed_before:
            failures.append(Failure(str(value), "an empty folder (hidden files aside)"))
    if not chunks:
        listed = "; ".join(f"{f.source}: {f.reason}" for f in failures[:20]) or "no files"
        more = f" (and {len(failures) - 20} more)" if len(failures) > 20 else ""
        raise DatagenError(f"No readable text to generate from: {listed}{more}.")
    return chunks, failures
