"""The crawler against a small site served by http.server on 127.0.0.1: robots.txt, depth limit,
same site only, rate limit, HTTP errors, and a server that goes away mid-crawl."""

from __future__ import annotations

import pytest
from rag_support import PAGES, Site

from tunelab.rag.crawl import CrawlConfig, crawl
from tunelab.rag.documents import Failure


@pytest.fixture
def site(tmp_path):
    with Site(tmp_path / "www") as s:
        yield s


def test_crawl_honours_robots_depth_and_same_site(site):
    items = list(crawl(site.url, CrawlConfig(max_depth=2, delay_s=0.05)))
    docs = [i for i in items if not isinstance(i, Failure)]
    problems = {i.source.removeprefix(site.url): (i.kind, i.reason) for i in items if isinstance(i, Failure)}
    assert [d.source.removeprefix(site.url) for d in docs] == ["", "a.html", "notes.txt", "b.html"]
    assert docs[0].title == "Home" and docs[0].text == "# Shop\n\nWelcome to the shop.\n\nA A again SB N XM"
    assert docs[2].doc_type == "text" and docs[2].text == "Plain text notes."
    assert problems == {"private/secret.html": ("skipped", "disallowed by robots.txt"),
                        "broken.html": ("failed", "HTTP 500")}
    # robots.txt first; nothing under /private/, nothing off the site, c.html is at depth 3
    assert site.paths == ["/robots.txt", "/", "/a.html", "/broken.html", "/notes.txt", "/b.html"]


def test_requests_are_spaced_by_the_delay(site):
    list(crawl(site.url, CrawlConfig(max_depth=1, delay_s=0.15)))
    times = [t for _, t in site.log]
    assert len(times) >= 4
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.14


def test_depth_zero_and_page_limit(site):
    assert [d.source for d in crawl(site.url, CrawlConfig(max_depth=0, delay_s=0))] == [site.url]
    docs = [i for i in crawl(site.url, CrawlConfig(max_depth=5, max_pages=2, delay_s=0)) if not isinstance(i, Failure)]
    assert len(docs) == 2


def test_pages_fetched_before_the_site_goes_away_are_kept(tmp_path):
    pages = {"index.html": "<p>Home page text.</p>" + "".join(f"<a href='p{i}.html'>{i}</a>" for i in range(6)),
             **{f"p{i}.html": f"<p>Page {i} text.</p>" for i in range(6)}}
    with Site(tmp_path / "www", pages=pages, fail={}, die_after=3) as s:  # robots.txt, /, p0.html answered
        items = list(crawl(s.url, CrawlConfig(max_depth=1, delay_s=0, max_errors=3)))
    docs = [i for i in items if not isinstance(i, Failure)]
    assert [d.source for d in docs] == [s.url, s.url + "p0.html"]
    failures = [i for i in items if isinstance(i, Failure)]
    assert [f.source.removeprefix(s.url) for f in failures] == ["p1.html", "p2.html", "p3.html", ""]
    assert all(f.reason.startswith("request failed:") for f in failures[:3])
    assert failures[-1].reason == "crawl stopped after 3 failed requests in a row; 2 queued page(s) not fetched"


def test_unreadable_robots_txt_means_no_crawl(tmp_path):
    with Site(tmp_path / "www", fail={"/robots.txt": 503}) as s:
        items = list(crawl(s.url, CrawlConfig(delay_s=0)))
    assert s.paths == ["/robots.txt"]
    assert [(i.kind, i.reason) for i in items] == [
        ("failed", f"robots.txt answered HTTP 503; not crawling {s.url.rstrip('/')}")]


def test_missing_robots_txt_allows_everything(tmp_path):
    pages = {k: v for k, v in PAGES.items() if k != "robots.txt"}
    with Site(tmp_path / "www", pages=pages) as s:
        docs = [i for i in crawl(s.url, CrawlConfig(max_depth=1, delay_s=0)) if not isinstance(i, Failure)]
    assert s.url + "private/secret.html" in [d.source for d in docs]
