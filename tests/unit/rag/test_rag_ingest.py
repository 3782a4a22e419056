"""Ingest on the embedded store: what cannot be read is skipped with a reason and counted; a crawl
whose site goes away keeps the pages it fetched; sources that do not exist are refused up front."""

import pytest
from pg_support import settings_on_each_backend, store_on_each_backend  # noqa: F401 - fixtures: SQLite, then PostgreSQL
from rag_support import Site, counting, embedder, one_torch_thread  # noqa: F401 - fixtures
from sqlalchemy import select

from tunelab.rag import CrawlConfig, RagError, Searcher, ingest
from tunelab.rag.registry import CollectionRegistry
from tunelab.store import Document, IngestReport


def test_unreadable_and_binary_files_are_skipped_with_a_reason(tmp_path, settings, store, counting):  # noqa: F811
    d = tmp_path / "docs"
    d.mkdir()
    (d / "ok.md").write_text("# Care\n\nWash cold.")
    (d / "archive.zip").write_bytes(b"PK\x03\x04" + bytes(40))
    (d / "dangling.txt").symlink_to(d / "nowhere.txt")
    [report] = ingest([d], "c", settings=settings, store=store, embedder=counting, progress=False)
    assert report.counts() == {"added": 1, "unchanged": 0, "updated": 0, "failed": 2, "skipped": 0,
                               "chunks_embedded": 1}
    reasons = {f.source.rsplit("/", 1)[1]: f.reason for f in report.failures}
    assert reasons == {"archive.zip": "binary file (NUL bytes in the first 8 KiB)",
                       "dangling.txt": "unreadable: No such file or directory"}
    assert counting.texts == ["# Care\n\nWash cold."]  # nothing of the skipped files reached the model
    with store.session() as s:
        assert s.scalars(select(Document.source)).all() == [str(d / "ok.md")]
        [row] = s.scalars(select(IngestReport)).all()
        assert row.counts["failed"] == 2 and {f["reason"] for f in row.failures} == set(reasons.values())


def test_a_crawl_that_breaks_keeps_what_it_fetched(tmp_path, settings, store, embedder):  # noqa: F811
    pages = {"robots.txt": "User-agent: *\nDisallow: /private/\n",
             "index.html": "<h1>Help centre</h1><p>Questions about orders.</p><a href='returns.html'>R</a>"
                           "<a href='private/admin.html'>A</a><a href='shipping.html'>S</a><a href='faq.html'>F</a>",
             "returns.html": "<h1>Returns</h1><p>Return within 30 days.</p>",
             "shipping.html": "<p>Ships in two days.</p>", "faq.html": "<p>FAQ.</p>",
             "private/admin.html": "<p>Admin.</p>"}
    with Site(tmp_path / "www", pages=pages, fail={}, die_after=3) as site:  # robots, /, returns.html
        [report] = ingest([site.url], "help", settings=settings, store=store, embedder=embedder, progress=False,
                          crawl_config=CrawlConfig(delay_s=0, max_errors=2))
    assert (report.added, report.failed, report.skipped) == (2, 3, 1)
    assert [f.reason for f in report.failures] == [
        "disallowed by robots.txt", "request failed: RemoteDisconnected: Remote end closed connection without response",
        "request failed: RemoteDisconnected: Remote end closed connection without response",
        "crawl stopped after 2 failed requests in a row"]
    assert "/private/admin.html" not in site.paths
    hits = Searcher.open("help", settings=settings, store=store, embedder=embedder).search("return window", k=1)
    assert hits[0].source == site.url + "returns.html"
    info = CollectionRegistry(store, settings).get("help")
    assert CollectionRegistry(store, settings).count_documents(info) == 2


def test_missing_sources_are_refused_before_anything_is_created(tmp_path, settings, store, embedder):  # noqa: F811
    with pytest.raises(RagError, match=r"Not found: .*nope \(give files, folders or http\(s\):// URLs\)"):
        ingest([tmp_path / "nope"], "c", settings=settings, store=store, embedder=embedder)
    assert CollectionRegistry(store, settings).names() == []
