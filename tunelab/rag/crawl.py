"""A polite web crawler for ingest: breadth-first from a start URL, same site only (scheme, host and
port), to a depth limit and a page limit, honouring robots.txt (urllib.robotparser, including its
Crawl-delay) and waiting at least `delay_s` between two requests.

`crawl(url, config)` yields a `RawDocument` per page fetched and a `Failure` per page that could not
be (HTTP error, refused connection, unsupported type) or was not asked for (robots.txt: kind
"skipped"). A failing page never ends the crawl early; only `max_errors` network errors in a row
(the site is gone) do, and everything fetched before stays yielded."""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlparse
from urllib.robotparser import RobotFileParser

from pydantic import BaseModel, Field

from tunelab.rag.documents import Failure, RawDocument
from tunelab.rag.htmltext import html_to_text
from tunelab.rag.loaders import bytes_to_document

USER_AGENT = "TuneLabBot/0.1"


class CrawlConfig(BaseModel):
    max_depth: int = Field(default=2, ge=0, description="Links followed from the start page (0: that page only).")
    max_pages: int = Field(default=100, ge=1, description="Pages fetched at most.")
    delay_s: float = Field(default=1.0, ge=0, description="Seconds between two requests to the site (at least).")
    timeout_s: float = Field(default=15.0, gt=0, description="Seconds to wait for one response.")
    max_bytes: int = Field(default=10 * 2**20, ge=1024, description="Largest page read.")
    max_errors: int = Field(default=3, ge=1, description="Stop after this many network errors in a row.")
    user_agent: str = Field(default=USER_AGENT, description="User-agent sent, and matched in robots.txt.")


@dataclass
class Response:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    charset: str | None = None


def fetch(url: str, *, user_agent: str, timeout: float, max_bytes: int) -> Response:
    """GET `url`; an HTTP error status comes back as a Response, a network error raises OSError."""
    req = urllib.request.Request(url, headers={"User-Agent": user_agent, "Accept": "text/html,text/*;q=0.9,*/*;q=0.5"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) only, checked by caller
            return Response(resp.geturl(), resp.status, resp.headers.get_content_type(), resp.read(max_bytes),
                            resp.headers.get_content_charset())
    except urllib.error.HTTPError as exc:
        return Response(url, exc.code, exc.headers.get_content_type() if exc.headers else "", b"")
    except http.client.HTTPException as exc:  # e.g. RemoteDisconnected is an OSError; BadStatusLine is not
        raise OSError(f"{type(exc).__name__}: {exc}") from exc


def site_of(url: str) -> tuple[str, str]:
    p = urlparse(url)
    return p.scheme, p.netloc.lower()


def normalise(url: str) -> str:
    """Without #fragment; an empty path becomes '/'."""
    url = urldefrag(url)[0]
    p = urlparse(url)
    return p._replace(path=p.path or "/").geturl()


@dataclass
class _Pacer:
    """Waits so that two requests start at least `delay` seconds apart."""

    delay: float
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    last: float | None = None

    def wait(self) -> None:
        if self.last is not None:
            left = self.last + self.delay - self.clock()
            if left > 0:
                self.sleep(left)
        self.last = self.clock()


@dataclass
class _Robots:
    parser: RobotFileParser | None  # None: robots.txt could not be read → crawl nothing
    reason: str = ""
    delay: float = 0.0

    def allowed(self, url: str, agent: str) -> bool:
        return self.parser is not None and self.parser.can_fetch(agent, url)


def _robots(start: str, config: CrawlConfig, pacer: _Pacer) -> _Robots:
    """RobotFileParser's rules for the site: 404 and other 4xx mean no rules, 401/403 mean keep out;
    a 5xx or a network error means we do not know, so we keep out (as the big crawlers do)."""
    scheme, netloc = site_of(start)
    url = f"{scheme}://{netloc}/robots.txt"
    pacer.wait()
    try:
        resp = fetch(url, user_agent=config.user_agent, timeout=config.timeout_s, max_bytes=512 * 1024)
    except OSError as exc:
        return _Robots(None, f"robots.txt unreachable ({exc}); not crawling {scheme}://{netloc}")
    rp = RobotFileParser(url)
    if resp.status in (401, 403):
        rp.disallow_all = True
    elif 400 <= resp.status < 500:
        rp.allow_all = True
    elif resp.status >= 500:
        return _Robots(None, f"robots.txt answered HTTP {resp.status}; not crawling {scheme}://{netloc}")
    else:
        rp.parse(resp.body.decode("utf-8", errors="replace").splitlines())
    return _Robots(rp, delay=float(rp.crawl_delay(config.user_agent) or 0.0))


def _document(resp: Response) -> tuple[RawDocument, list[str]]:
    """The page as a document, and the links it holds (absolute); ValueError if not indexable."""
    ctype = resp.content_type
    if ctype in ("text/html", "application/xhtml+xml"):
        try:
            html = resp.body.decode(resp.charset or "utf-8", errors="replace")
        except LookupError:  # an unknown charset name
            html = resp.body.decode("utf-8", errors="replace")
        page = html_to_text(html)
        if not page.text.strip():
            raise ValueError("no text")
        links = [normalise(urljoin(resp.url, href)) for href in page.links]
        return RawDocument(source=resp.url, doc_type="html", text=page.text, title=page.title,
                           meta={"url": resp.url}), links
    kinds = {"text/plain": "text", "text/markdown": "markdown", "text/x-markdown": "markdown", "application/pdf": "pdf"}
    if ctype not in kinds:
        raise ValueError(f"unsupported content type {ctype or '(none)'}")
    doc = bytes_to_document(resp.url, resp.body, kinds[ctype])
    doc.meta["url"] = resp.url
    return doc, []


def crawl(start_url: str, config: CrawlConfig | None = None, *,
          sleep: Callable[[float], None] = time.sleep) -> Iterator[RawDocument | Failure]:
    """Fetch the site from `start_url` breadth-first; see the module docstring for the rules."""
    config = config or CrawlConfig()
    start = normalise(start_url)
    if urlparse(start).scheme not in ("http", "https"):
        raise ValueError(f"Crawling needs an http(s) URL, got '{start_url}'.")
    pacer = _Pacer(config.delay_s, sleep=sleep)
    robots = _robots(start, config, pacer)
    if robots.parser is None:
        yield Failure(start, robots.reason)
        return
    pacer.delay = max(config.delay_s, robots.delay)
    site = site_of(start)
    queue: deque[tuple[str, int]] = deque([(start, 0)])
    seen = {start}
    fetched = errors = 0
    while queue and fetched < config.max_pages:
        url, depth = queue.popleft()
        if not robots.allowed(url, config.user_agent):
            yield Failure(url, "disallowed by robots.txt", kind="skipped")
            continue
        pacer.wait()
        try:
            resp = fetch(url, user_agent=config.user_agent, timeout=config.timeout_s, max_bytes=config.max_bytes)
        except OSError as exc:
            errors += 1
            yield Failure(url, f"request failed: {exc}")
            if errors >= config.max_errors:
                left = len(queue)
                yield Failure(start, f"crawl stopped after {errors} failed requests in a row"
                                     + (f"; {left} queued page(s) not fetched" if left else ""))
                return
            continue
        fetched += 1
        errors = 0  # the server answered
        if resp.status >= 400:
            yield Failure(url, f"HTTP {resp.status}")
            continue
        if site_of(resp.url) != site:
            yield Failure(url, f"redirected off the site to {resp.url}", kind="skipped")
            continue
        try:
            doc, links = _document(resp)
        except ValueError as exc:
            yield Failure(resp.url, str(exc))
            continue
        yield doc
        if depth < config.max_depth:
            for link in links:
                if link not in seen and site_of(link) == site and urlparse(link).scheme in ("http", "https"):
                    seen.add(link)
                    queue.append((link, depth + 1))
