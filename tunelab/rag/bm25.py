"""Lexical search with `bm25s`, one index per collection, persisted under the home dir.

The index is rebuilt from the vector store's chunks after an ingest that changed anything (the
vector store is the one source of truth). Beside the bm25s files, `chunks.jsonl` holds each indexed
chunk's id, text and metadata in index order, so results carry metadata and filters apply to them."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tunelab.rag.filters import Filters
from tunelab.rag.vectors import Hit

_TOKEN = re.compile(r"\w+", re.UNICODE)
_CHUNKS = "chunks.jsonl"


def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN  # lazy: bm25s is slow to import

    return frozenset(STOPWORDS_EN)


def tokenize(text: str, stopwords: frozenset[str] | None = None) -> list[str]:
    """Lower-cased word tokens without English stopwords; the same for documents and queries."""
    stop = _stopwords() if stopwords is None else stopwords
    return [t for t in _TOKEN.findall(text.lower()) if t not in stop]


@dataclass
class BM25Index:
    hits: list[Hit]  # the indexed chunks (score 0), in index order
    retriever: object | None  # bm25s.BM25, None when there is nothing indexed

    @classmethod
    def build(cls, chunks: Iterable[Hit]) -> BM25Index:
        import bm25s  # lazy: bm25s is slow to import

        hits = list(chunks)
        if not hits:
            return cls([], None)
        stop = _stopwords()
        retriever = bm25s.BM25()
        # A chunk with no word (only punctuation) still needs a token so positions stay aligned.
        retriever.index([tokenize(h.text, stop) or ["\u2205"] for h in hits], show_progress=False)
        return cls(hits, retriever)

    def save(self, folder: Path) -> None:
        """Write to a sibling temp folder, then swap it in, so a reader never sees half an index."""
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.retriever is not None:
            self.retriever.save(str(tmp), show_progress=False)
        with open(tmp / _CHUNKS, "w", encoding="utf-8") as f:
            for h in self.hits:
                f.write(json.dumps({"id": h.id, "text": h.text, "meta": h.meta}, ensure_ascii=False) + "\n")
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        import bm25s  # lazy: bm25s is slow to import

        path = folder / _CHUNKS
        if not path.is_file():
            return cls([], None)
        with open(path, encoding="utf-8") as f:
            hits = [Hit(id=d["id"], text=d["text"], score=0.0, meta=d["meta"]) for d in map(json.loads, f)]
        retriever = bm25s.BM25.load(str(folder), show_progress=False) if hits else None
        return cls(hits, retriever)

    def __len__(self) -> int:
        return len(self.hits)

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        """Up to `k` chunks sharing a word with `query`, best BM25 score first, that pass `filters`."""
        tokens = tokenize(query)
        if self.retriever is None or not tokens or k <= 0:
            return []
        mask = None
        allowed = len(self.hits)
        if filters:
            keep = np.array([filters.matches(h.meta) for h in self.hits], dtype=np.float32)
            allowed = int(keep.sum())
            mask = keep
        if allowed == 0:
            return []
        docs, scores = self.retriever.retrieve([tokens], k=min(k, allowed), show_progress=False,
                                               weight_mask=mask, n_threads=1)
        out = []
        for i, s in zip(docs[0], scores[0]):
            if s <= 0:  # no query word in it
                continue
            h = self.hits[int(i)]
            out.append(Hit(id=h.id, text=h.text, score=float(s), meta=dict(h.meta)))
        return out
