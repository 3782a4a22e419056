"""Ingest files, folders and web pages into a collection, incrementally.

`ingest(sources, collection, settings=..., store=...)` loads each source (a file, a folder, or an
http(s) URL to crawl), and for every document compares its content hash (and the chunking it was
cut with) to what the store holds: unchanged documents cost nothing; new and changed ones are
chunked and embedded, and replace that document's chunks and vectors only. Unreadable or binary
files, bad catalogue records and failed pages are counted and listed with a reason. Each source's
counts (added, unchanged, updated, failed, skipped) are returned and kept in `ingest_reports`;
the collection's BM25 index is rebuilt when anything changed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from tunelab.rag.bm25 import BM25Index
from tunelab.rag.chunk import ChunkConfig, Length, chunk_document
from tunelab.rag.crawl import CrawlConfig, crawl
from tunelab.rag.documents import Chunk, Failure, RawDocument
from tunelab.rag.embed import Embedder, embed_texts, load_embedder
from tunelab.rag.errors import RagError
from tunelab.rag.loaders import load_path
from tunelab.rag.mapping import FieldMapping
from tunelab.rag.registry import CollectionInfo, CollectionRegistry, check_embedder
from tunelab.rag.vectors import VectorCollection, chroma_name
from tunelab.settings import Settings
from tunelab.store import Store


@dataclass
class SourceReport:
    """What one ingest did with one source (a path or URL the user gave)."""

    source: str
    added: int = 0
    unchanged: int = 0
    updated: int = 0
    failed: int = 0
    skipped: int = 0  # not fetched on purpose: robots.txt, redirected off the site
    chunks_embedded: int = 0
    failures: list[Failure] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"added": self.added, "unchanged": self.unchanged, "updated": self.updated, "failed": self.failed,
                "skipped": self.skipped, "chunks_embedded": self.chunks_embedded}

    def note(self, failure: Failure) -> None:
        self.failures.append(failure)
        if failure.kind == "skipped":
            self.skipped += 1
        else:
            self.failed += 1


def is_url(source: str | Path) -> bool:
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def documents_of(source: str | Path, mapping: FieldMapping, crawl_config: CrawlConfig) -> Iterator[RawDocument | Failure]:
    if is_url(source):
        yield from crawl(str(source), crawl_config)
    else:
        yield from load_path(source, mapping)


def _collect(items: Iterable[RawDocument | Failure], report: SourceReport) -> list[RawDocument]:
    """Documents from `items`; failures go to the report. An error that ends the iteration early
    (a crawl whose site went away, a folder that vanished) keeps what came before it."""
    docs: list[RawDocument] = []
    seen: set[str] = set()
    try:
        for item in items:
            if isinstance(item, Failure):
                report.note(item)
            elif item.source in seen:
                report.note(Failure(item.source, "seen twice in this source; the first one was kept"))
            else:
                seen.add(item.source)
                docs.append(item)
    except (RagError, OSError) as exc:
        report.note(Failure(report.source, f"stopped early: {exc}"))
    return docs


_WRITE_CHUNKS = 1000  # chunks per vector-store write: Chroma pays per call, not per chunk
Pending = tuple[RawDocument, list[Chunk], bool]  # a document to write, its chunks, whether it was indexed before


def _windows(pending: list[Pending], size: int) -> Iterator[list[Pending]]:
    """Consecutive runs of whole documents holding about `size` chunks each (a longer document alone)."""
    window, n = [], 0
    for item in pending:
        if window and n + len(item[1]) > size:
            yield window
            window, n = [], 0
        window.append(item)
        n += len(item[1])
    if window:
        yield window


def _length(chunking: ChunkConfig, embedder: Embedder) -> Length:
    if chunking.unit == "chars":
        return len
    count = getattr(embedder, "count_tokens", None)
    if count is None:
        raise RagError(f"Chunk sizes in tokens need the embedding model's tokenizer; '{embedder.name}' has none. "
                       "Use --chunk-unit chars.")
    return count


class Ingestor:
    """One ingest run into one collection (opened or created), with one embedder."""

    def __init__(self, registry: CollectionRegistry, info: CollectionInfo, vectors: VectorCollection,
                 embedder: Embedder, chunking: ChunkConfig, mapping: FieldMapping, crawl_config: CrawlConfig,
                 *, batch_size: int = 32, progress: bool = True, console: Console | None = None,
                 progress_interval_s: float | None = None) -> None:
        self.registry, self.info, self.vectors, self.embedder = registry, info, vectors, embedder
        self.chunking, self.mapping, self.crawl_config = chunking, mapping, crawl_config
        self.batch_size, self.progress, self.console = batch_size, progress, console
        self.progress_interval_s = progress_interval_s
        self.length = _length(chunking, embedder)

    def run_source(self, source: str | Path) -> SourceReport:
        report = SourceReport(source=str(source))
        docs = _collect(documents_of(source, self.mapping, self.crawl_config), report)
        states = self.registry.document_states(self.info)
        fingerprint = self.chunking.fingerprint()
        pending: list[Pending] = []
        for doc in docs:
            state = states.get(doc.source)
            if state and state.content_hash == doc.content_hash and state.chunking == fingerprint:
                report.unchanged += 1
                continue
            chunks = chunk_document(doc, self.chunking, self.length)
            if not chunks:
                report.note(Failure(doc.source, "no text to index"))
                continue
            pending.append((doc, chunks, state is not None))
        texts = [c.text for _, chunks, _ in pending for c in chunks]
        vectors = embed_texts(self.embedder, texts, batch_size=self.batch_size, progress=self.progress,
                              console=self.console, label=f"Embedding {Path(str(source)).name or source}",
                              progress_interval_s=self.progress_interval_s)
        report.chunks_embedded = len(texts)
        start = 0
        for window in _windows(pending, _WRITE_CHUNKS):
            items = []
            for doc, chunks, _ in window:
                items.append((doc.source, chunks, vectors[start:start + len(chunks)]))
                start += len(chunks)
            # Vectors first: a crash before the rows are written re-embeds those documents next time.
            self.vectors.replace_sources(items)
            for doc, chunks, existed in window:
                self.registry.save_document(self.info, source=doc.source, doc_type=doc.doc_type,
                                            content_hash=doc.content_hash, title=doc.title,
                                            meta={**doc.meta, "chunking": fingerprint}, num_chunks=len(chunks))
                if existed:
                    report.updated += 1
                else:
                    report.added += 1
        self.registry.save_report(self.info, report.source, report.counts(), [f.as_dict() for f in report.failures])
        return report

    def rebuild_bm25(self) -> None:
        BM25Index.build(self.vectors.all_chunks()).save(self.registry.bm25_dir(self.info))


def open_collection(registry: CollectionRegistry, name: str, *, embedder: Embedder | None = None,
                    embedding_model: str | None = None, vector_url: str | None = None,
                    create: bool = True) -> tuple[CollectionInfo, VectorCollection, Embedder]:
    """The collection `name` (created on first use when `create`), its vectors, and its embedder:
    `embedder`, else the model `embedding_model`, else the collection's own model (for a new
    collection: the packaged MiniLM). Another model than the collection's is refused."""
    info = registry.find(name) if create else registry.get(name)
    if embedder is None:
        embedder = load_embedder(embedding_model or (info.embedding_model if info else None))
    if info is not None:
        check_embedder(info, embedder.name, embedder.dimension)
    if info is not None:
        return info, registry.vectors(info, vector_url), embedder
    if not name.strip():
        raise RagError("A collection needs a name.")
    store = registry.vector_store(None, vector_url)  # reach the store before recording anything
    cname = chroma_name(name)
    vectors = store.collection(cname, name=name, model=embedder.name, dimension=embedder.dimension)
    info = registry.create(name, embedding_model=embedder.name, dimension=embedder.dimension, vector_url=store.url,
                           chroma=cname)
    return info, vectors, embedder


def ingest(sources: Iterable[str | Path], collection: str, *, settings: Settings, store: Store,
           embedder: Embedder | None = None, embedding_model: str | None = None, mapping: FieldMapping | None = None,
           chunking: ChunkConfig | None = None, crawl_config: CrawlConfig | None = None,
           vector_url: str | None = None, batch_size: int = 32, progress: bool = True,
           console: Console | None = None) -> list[SourceReport]:
    """Ingest every source into `collection`; one `SourceReport` per source, in order.

    Chunking and the catalogue mapping default to what the collection used last time, so a plain
    re-ingest finds unchanged documents unchanged; a different chunking re-chunks every document."""
    sources = list(sources)
    if not sources:
        raise RagError("Nothing to ingest: give at least one file, folder or URL.")
    missing = [str(s) for s in sources if not is_url(s) and not Path(s).expanduser().exists()]
    if missing:
        raise RagError(f"Not found: {', '.join(missing)} (give files, folders or http(s):// URLs).")
    registry = CollectionRegistry(store, settings)
    info, vectors, embedder = open_collection(registry, collection, embedder=embedder,
                                              embedding_model=embedding_model, vector_url=vector_url)
    saved = info.settings
    chunking = chunking or ChunkConfig(**saved.get("chunking", {}))
    mapping = mapping if mapping is not None and mapping != FieldMapping() else FieldMapping(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in saved.get("mapping", {}).items()})
    info = registry.update_settings(info, chunking=chunking.model_dump(), mapping=mapping.as_dict())
    run = Ingestor(registry, info, vectors, embedder, chunking, mapping, crawl_config or CrawlConfig(),
                   batch_size=batch_size, progress=progress, console=console,
                   progress_interval_s=settings.progress_interval_s)
    reports = [run.run_source(source) for source in sources]
    if any(r.added or r.updated for r in reports) or not registry.bm25_dir(info).exists():
        run.rebuild_bm25()
    return reports
