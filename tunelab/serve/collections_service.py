"""The RAG collection routes' work, on `app.state.collections`: one collection with its documents
and reports, search in one mode with scores, and uploads kept under `<home>/rag/uploads` for an
ingest job to read. Blocking (the store, Chroma, models): routes call it in a worker thread.

Ingest runs in job processes, so a searcher this server opened goes stale when they change a
collection: each search compares the collection's BM25 index file (rebuilt by every ingest that
changed something) with the one its searcher loaded, and reopens the searcher when they differ."""

from __future__ import annotations

import re
import secrets
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from tunelab.eval.results import json_safe
from tunelab.rag.embed import Embedder, load_embedder
from tunelab.rag.filters import Filters
from tunelab.rag.registry import CollectionInfo, CollectionRegistry
from tunelab.rag.search import Searcher
from tunelab.rag.vectors import forget_embedded_clients
from tunelab.serve import collections_protocol as p
from tunelab.settings import Settings
from tunelab.store import Store

MAX_DOCUMENTS = 500
MAX_REPORTS = 50
_UNSAFE = re.compile(r"[^\w.\- ()+@,]+", re.UNICODE)


class UploadError(ValueError):
    """An upload that cannot be stored (no files, a file without a usable name)."""


def safe_name(filename: str, index: int) -> str:
    """The uploaded name without folders, control characters or a leading dot (an ingest skips
    hidden files), e.g. '../../etc/passwd' -> 'passwd'; refuses a name left empty."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip().lstrip(".").strip()
    if not base or base.strip("_") == "":
        raise UploadError(f"Uploaded file {index + 1} ('{filename}') has no usable file name.")
    return base[:200]


class CollectionsService:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.registry = CollectionRegistry(store, settings)
        self._searchers: dict[str, tuple[tuple, Searcher, Embedder | None]] = {}
        self._embedders: dict[str, Embedder] = {}
        # One search at a time: searchers share embedders, whose fast tokenizers fail when two threads
        # use one at once; a search takes milliseconds, so the wait is short.
        self._lock = threading.Lock()

    # -- one collection --------------------------------------------------------------------------

    def detail(self, name: str) -> p.CollectionDetail:
        info = self.registry.get(name)  # UnknownCollectionError listing the collections
        docs = sorted(self.registry.document_states(info).items())[:MAX_DOCUMENTS]
        reports = self.registry.reports(info)[-MAX_REPORTS:][::-1]
        return p.CollectionDetail(
            name=info.name, embedding_model=info.embedding_model, dimension=info.dimension,
            documents=self.registry.count_documents(info), settings=json_safe(info.settings),
            created_at=info.created_at,
            document_list=[p.CollectionDocument(source=source, content_hash=d.content_hash, chunks=d.num_chunks or 0)
                           for source, d in docs],
            reports=[p.IngestReport(**r) for r in reports])

    # -- search ----------------------------------------------------------------------------------

    def _stamp(self, info: CollectionInfo) -> tuple:
        index = self.registry.bm25_dir(info) / "chunks.jsonl"
        try:
            st = index.stat()
            return info.id, info.chroma_name, st.st_mtime_ns, st.st_size, st.st_ino
        except OSError:
            return info.id, info.chroma_name, None

    def _embedder(self, model: str) -> Embedder:
        if model not in self._embedders:
            self._embedders[model] = load_embedder(model)
        return self._embedders[model]

    def _searcher(self, name: str, dense: bool) -> Searcher:
        info = self.registry.get(name)
        stamp = self._stamp(info)
        model = info.embedding_model
        embedder = self._embedder(model) if dense else self._embedders.get(model)
        cached = self._searchers.get(name)
        if cached is not None and cached[0] == stamp and (cached[2] is embedder or not dense):
            return cached[1]
        if info.vector_url is None:  # the embedded store: read it from disk again
            forget_embedded_clients()
        searcher = Searcher(self.registry, info, embedder=embedder)
        self._searchers[name] = (stamp, searcher, embedder)
        return searcher

    def searcher(self, name: str) -> Searcher:
        """The collection's Searcher (dense too), reopened when an ingest has changed it since."""
        with self._lock:
            return self._searcher(name, dense=True)

    def search(self, name: str, req: p.SearchRequest) -> p.SearchResult:
        filters = Filters(**req.filters) if req.filters else None  # ValueError -> 400
        start = time.perf_counter()
        with self._lock:
            searcher = self._searcher(name, dense=req.mode != "bm25")
            hits = searcher.search(req.query, mode=req.mode, k=req.k, filters=filters)
        took = (time.perf_counter() - start) * 1000
        return p.SearchResult(
            collection=name, query=req.query, mode=req.mode, k=req.k, score_kind=p.SCORE_KINDS[req.mode],
            took_ms=round(took, 2),
            hits=[p.SearchHit(rank=i, id=h.id, score=float(h.score), source=h.source,
                              title=_text(h.meta.get("title")), section=_text(h.meta.get("section")),
                              text=h.text, meta=h.meta)
                  for i, h in enumerate(hits, start=1)])

    # -- uploads ---------------------------------------------------------------------------------

    def uploads_dir(self) -> Path:
        return self.settings.rag_dir / "uploads"

    def save_uploads(self, files: list[tuple[str, BinaryIO]]) -> p.UploadList:
        """Store the files in a new folder under `<home>/rag/uploads` (never outside it) and
        return their paths, for an ingest job's `sources`."""
        if not files:
            raise UploadError("No files were uploaded: send one or more `files` fields.")
        names: list[str] = []
        for i, (filename, _) in enumerate(files):
            name = safe_name(filename or "", i)
            stem, dot, suffix = name.rpartition(".")
            n = 2
            while name in names:  # two files of one name: keep both
                name = f"{stem}-{n}.{suffix}" if dot else f"{suffix}-{n}"
                n += 1
            names.append(name)
        root = self.uploads_dir().resolve()
        folder = root / f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        folder.mkdir(parents=True)
        out = []
        try:
            for name, (_, content) in zip(names, files):
                path = (folder / name).resolve()
                if not path.is_relative_to(folder):  # cannot happen after safe_name; never write outside
                    raise UploadError(f"'{name}' would be stored outside the uploads folder.")
                with path.open("wb") as f:
                    shutil.copyfileobj(content, f)
                out.append(p.UploadedFile(name=name, path=str(path), bytes=path.stat().st_size))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return p.UploadList(folder=str(folder), data=out)


def _text(value) -> str | None:
    return None if value is None else str(value)
