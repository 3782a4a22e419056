"""The RAG suite that depends on the vector store, run twice: against the embedded Chroma client and
against a real Chroma server (`chroma run`) on 127.0.0.1, started for the session and stopped after.

Incremental ingest (counted in embedding calls), dense/BM25/hybrid ranking on a small catalogue,
filters in every mode, and a collection refusing another embedding model. The search tests share
one indexed collection per backend (module scope); the ingest test gets a fresh home."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from rag_support import (  # noqa: F401 - fixtures
    MAPPING,
    PRODUCTS,
    chroma_server,
    counting,
    embedder,
    one_torch_thread,
    other_embedding_model,
    vector_url,
    write_catalogue,
)
from sqlalchemy import select

from tunelab.rag import EmbeddingMismatchError, FieldMapping, Filters, Searcher, ingest
from tunelab.rag.chunk import ChunkConfig, chunk_document
from tunelab.rag.loaders import load_path
from tunelab.rag.registry import CollectionRegistry
from tunelab.settings import Settings
from tunelab.store import IngestReport, Store

GUIDE = "# Returns\n\nReturn any item within 30 days for a full refund.\n\n## Shipping\n\nOrders ship in two days.\n"


def make_docs(d: Path) -> Path:
    d.mkdir(parents=True)
    write_catalogue(d / "catalogue.jsonl")
    (d / "guide.md").write_text(GUIDE)
    (d / "notes.txt").write_text("Customer service answers within one business day.")
    (d / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100))
    return d


@pytest.fixture
def docs(tmp_path):
    return make_docs(tmp_path / "docs")


def shop(docs, settings, store, vector_url, embedder, **kw):  # noqa: F811
    [report] = ingest([docs], "shop", settings=settings, store=store, embedder=embedder,
                      mapping=kw.pop("mapping", FieldMapping.parse(MAPPING)), vector_url=vector_url, progress=False, **kw)
    return report


def test_reingest_embeds_only_what_changed(docs, settings, store, counting, vector_url):  # noqa: F811
    first = shop(docs, settings, store, vector_url, counting)
    guide_chunks = len(chunk_document(next(load_path(docs / "guide.md"))))
    expected_chunks = len(PRODUCTS) + guide_chunks + 1
    assert first.counts() == {"added": len(PRODUCTS) + 2, "unchanged": 0, "updated": 0, "failed": 1, "skipped": 0,
                              "chunks_embedded": expected_chunks}
    assert len(counting.texts) == expected_chunks
    assert [(f.source, f.reason) for f in first.failures] == [
        (str(docs / "photo.jpg"), "binary file (NUL bytes in the first 8 KiB)")]

    counting.reset()  # nothing changed: nothing embedded (the mapping is the collection's, remembered)
    again = shop(docs, settings, store, vector_url, counting, mapping=None)
    assert (again.added, again.unchanged, again.updated, again.failed) == (0, len(PRODUCTS) + 2, 0, 1)
    assert counting.calls == 0

    counting.reset()  # one document and one catalogue record change: only their chunks are embedded
    (docs / "guide.md").write_text(GUIDE.replace("30 days", "60 days"))
    changed = [dict(p, price_usd="19") if p["sku"] == "TEE-1" else p for p in PRODUCTS]
    write_catalogue(docs / "catalogue.jsonl", changed)
    third = shop(docs, settings, store, vector_url, counting)
    assert (third.added, third.unchanged, third.updated, third.failed) == (0, len(PRODUCTS), 2, 1)
    assert len(counting.texts) == guide_chunks + 1 == third.chunks_embedded
    assert any("60 days" in t for t in counting.texts) and any("Price: 19.00" in t for t in counting.texts)

    registry = CollectionRegistry(store, settings)
    info = registry.get("shop")
    assert registry.vectors(info).count() == expected_chunks  # old chunks replaced, not added to
    with store.session() as s:
        rows = s.scalars(select(IngestReport).order_by(IngestReport.id)).all()
        assert [(r.source, r.counts["added"], r.counts["unchanged"], r.counts["updated"], r.counts["failed"])
                for r in rows] == [(str(docs), 10, 0, 0, 1), (str(docs), 0, 10, 0, 1), (str(docs), 0, 8, 2, 1)]
        assert rows[0].failures == [{"source": str(docs / "photo.jpg"), "kind": "failed",
                                     "reason": "binary file (NUL bytes in the first 8 KiB)"}]
    hits = Searcher.open("shop", settings=settings, store=store, embedder=counting).search("refund window", k=3)
    assert "60 days" in hits[0].text  # the new text is what is found

    counting.reset()  # other chunk sizes: every document is cut again
    fourth = shop(docs, settings, store, vector_url, counting, chunking=ChunkConfig(size=40, overlap=10))
    assert (fourth.updated, fourth.unchanged) == (len(PRODUCTS) + 2, 0)
    assert registry.get("shop").settings["chunking"] == {"size": 40, "overlap": 10, "unit": "chars"}
    assert registry.get("shop").settings["mapping"]["id"] == "sku"


@dataclass
class Indexed:
    settings: Settings
    store: Store
    docs: Path
    searcher: Searcher


@pytest.fixture(scope="module", params=["embedded", "server"])
def indexed(request, tmp_path_factory, embedder):  # noqa: F811
    """The docs folder ingested once per backend, for the read-only search tests."""
    url = None if request.param == "embedded" else request.getfixturevalue("chroma_server")
    root = tmp_path_factory.mktemp(f"indexed-{request.param}")
    settings = Settings(home=root / "home", hub_offline=True)
    store = Store(settings)
    folder = make_docs(root / "docs")
    shop(folder, settings, store, url, embedder)
    yield Indexed(settings, store, folder, Searcher.open("shop", settings=settings, store=store, embedder=embedder))
    store.dispose()


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_modes_rank_the_relevant_product_first(mode, indexed):
    cases = {"electric kettle to boil water": "KETTLE-1", "waterproof camping tent": "TENT-1",
             "trail running shoes": "SHOE-1",
             "how many days to return an item for a refund": str(indexed.docs / "guide.md")}
    for query, relevant in cases.items():
        hits = indexed.searcher.search(query, mode=mode, k=5)
        assert hits[0].doc_id == relevant, (query, [h.doc_id for h in hits])
    top = indexed.searcher.search("electric kettle", mode=mode, k=1)[0]
    assert top.meta["category"] == "Kitchen" and top.meta["brand"] == "Boil" and top.meta["price"] == 35.5
    assert top.meta["source"].endswith("catalogue.jsonl#KETTLE-1") and top.meta["position"] == 0


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_filters_mean_the_same_in_every_mode(mode, indexed):
    def ids(query, **filters):
        return {h.doc_id for h in indexed.searcher.search(query, mode=mode, k=20, filters=Filters(**filters))}

    assert ids("acme products", brand="Acme", price_max=50) == {"PAN-1", "TEE-1"}
    assert ids("summit outdoors gear", category="Outdoors", price_min=50, price_max=100) == {"BAG-1"}
    assert ids("shoes sneakers", category="Shoes") == {"SHOE-1", "SHOE-2"}
    assert ids("white shoes sneakers", category="Shoes", fields={"color": "white"}) == {"SHOE-2"}
    assert ids("kettle", category="Garden") == set()


def test_another_embedding_model_is_refused(indexed, other_embedding_model):  # noqa: F811
    settings, store, docs = indexed.settings, indexed.store, indexed.docs
    with pytest.raises(EmbeddingMismatchError) as err:
        Searcher.open("shop", settings=settings, store=store, embedding_model=str(other_embedding_model))
    message = str(err.value)
    assert "Collection 'shop' was embedded with 'sentence-transformers/all-MiniLM-L6-v2' (384 dimensions)" in message
    assert f"'{other_embedding_model}' (32 dimensions) cannot query or extend it" in message
    with pytest.raises(EmbeddingMismatchError, match="cannot query or extend it"):
        ingest([docs], "shop", settings=settings, store=store, embedding_model=str(other_embedding_model),
               progress=False)
    # The Chroma collection itself records its model, and refuses too.
    info = CollectionRegistry(store, settings).get("shop")
    with pytest.raises(EmbeddingMismatchError, match="holds vectors of 'sentence-transformers/all-MiniLM-L6-v2'"):
        CollectionRegistry(store, settings).vector_store(info).collection(
            info.chroma_name, name="shop", model=str(other_embedding_model), dimension=32)
    # A new collection may use the other model, and is then searched with it by default.
    [report] = ingest([docs / "guide.md"], "tiny", settings=settings, store=store, progress=False,
                      embedding_model=str(other_embedding_model), vector_url=info.vector_url)
    assert report.added == 1
    hits = Searcher.open("tiny", settings=settings, store=store).search("refund", mode="dense", k=1)
    assert hits and hits[0].source == str(docs / "guide.md")
