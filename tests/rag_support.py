"""Shared by the RAG tests: a small product catalogue, an embedder that counts what it embeds,
a static web site on loopback for the crawler, a real Chroma server (`chroma run`) on loopback
for the session, and the `vector_url` fixture that runs a test against the embedded store and
against that server.

Test modules import the fixtures they use: `from rag_support import embedder, chroma_server, vector_url`."""

from __future__ import annotations

import functools
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

PRODUCTS = [
    {"sku": "SHOE-1", "name": "TrailRunner 2 running shoes", "description": "Lightweight trail running shoes with a grippy outsole for muddy paths.",
     "cat": "Shoes", "maker": "Acme", "price_usd": "$89.00", "color": "red"},
    {"sku": "SHOE-2", "name": "City Walker sneakers", "description": "Canvas sneakers for everyday walking in town.",
     "cat": "Shoes", "maker": "Stride", "price_usd": "45", "color": "white"},
    {"sku": "KETTLE-1", "name": "SteelBoil electric kettle", "description": "1.7 litre stainless steel electric kettle that boils water in three minutes.",
     "cat": "Kitchen", "maker": "Boil", "price_usd": "35.50", "color": "silver"},
    {"sku": "PAN-1", "name": "Cast iron frying pan", "description": "Pre-seasoned cast iron skillet for searing steaks.",
     "cat": "Kitchen", "maker": "Acme", "price_usd": "29.99", "color": "black"},
    {"sku": "TEE-1", "name": "Organic cotton t-shirt", "description": "Soft crew-neck tee made from organic cotton.",
     "cat": "Apparel", "maker": "Acme", "price_usd": "15", "color": "blue"},
    {"sku": "TENT-1", "name": "Two-person dome tent", "description": "Waterproof camping tent that sets up in five minutes.",
     "cat": "Outdoors", "maker": "Summit", "price_usd": "129", "color": "green"},
    {"sku": "LAMP-1", "name": "LED desk lamp", "description": "Dimmable desk lamp with a USB charging port.",
     "cat": "Home", "maker": "Lumen", "price_usd": "39", "color": "white"},
    {"sku": "BAG-1", "name": "Hiking backpack 30L", "description": "Daypack with rain cover and hydration sleeve for hiking.",
     "cat": "Outdoors", "maker": "Summit", "price_usd": "75", "color": "grey"},
]
MAPPING = "id=sku,title=name,text=description,category=cat,brand=maker,price=price_usd,meta=color"


def write_catalogue(path: Path, products: Sequence[dict] = PRODUCTS) -> Path:
    path.write_text("".join(json.dumps(p) + "\n" for p in products))
    return path


class CountingEmbedder:
    """Passes everything to a real embedder and counts the texts it was asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.dimension = inner.name, inner.dimension
        self.texts: list[str] = []
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts.extend(texts)
        return self.inner.embed(texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def reset(self) -> None:
        self.texts, self.calls = [], 0


@pytest.fixture(scope="session")
def embedder():
    """The packaged all-MiniLM-L6-v2, loaded once per session."""
    from tunelab.models.embeddings import sentence_embedder

    return sentence_embedder()


@pytest.fixture
def counting(embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real Chroma server (`chroma run`) on 127.0.0.1 for the session; stopped afterwards."""
    data, port = tmp_path_factory.mktemp("chroma-server"), free_port()
    log = open(data.parent / "chroma-server.log", "wb")
    # The `chroma` console script, run through this interpreter so PATH does not matter.
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from chromadb.cli.cli import app; sys.exit(app())",
                             "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError("chroma run did not start: "
                                       + (data.parent / "chroma-server.log").read_text(errors="replace")[-2000:]) from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(params=["embedded", "server"])
def vector_url(request) -> str | None:
    """None (the embedded store under the test's home) or the URL of the session's Chroma server."""
    return None if request.param == "embedded" else request.getfixturevalue("chroma_server")


PAGES = {
    "robots.txt": "User-agent: *\nDisallow: /private/\n",
    "index.html": "<html><head><title>Home</title></head><body><h1>Shop</h1><p>Welcome to the shop.</p>"
                  "<a href='a.html'>A</a> <a href='a.html#top'>A again</a> <a href='private/secret.html'>S</a>"
                  "<a href='broken.html'>B</a> <a href='notes.txt'>N</a> <a href='http://example.invalid/x.html'>X</a>"
                  "<a href='mailto:x@example.invalid'>M</a></body></html>",
    "a.html": "<html><body><p>Page A about returns.</p><a href='/'>home</a><a href='b.html'>B</a></body></html>",
    "b.html": "<html><body><p>Page B about shipping.</p><a href='c.html'>C</a></body></html>",
    "c.html": "<html><body><p>Page C, too deep.</p></body></html>",
    "notes.txt": "Plain text notes.",
    "private/secret.html": "<html><body><p>Secret.</p></body></html>",
}


class Site:
    """A static site on 127.0.0.1 that logs each request's path and time. `fail` maps a path to
    an HTTP status; after `die_after` requests the server drops every connection unanswered."""

    def __init__(self, root, pages=PAGES, fail=None, die_after=None):
        for name, body in pages.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(body)
        self.log: list[tuple[str, float]] = []
        self.fail = fail or {"/broken.html": 500}
        self.die_after = die_after
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):
                site.log.append((self.path, time.monotonic()))
                if site.die_after is not None and len(site.log) > site.die_after:
                    self.close_connection = True  # gone: no status line at all
                    return
                if self.path in site.fail:
                    self.send_error(site.fail[self.path])
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def paths(self) -> list[str]:
        return [p for p, _ in self.log]


@pytest.fixture(scope="session")
def other_embedding_model(tmp_path_factory) -> Path:
    """A second sentence-embedding model (a tiny random BERT, 32 dimensions, MiniLM's tokenizer),
    saved as a folder: what a user would pass with --embedding-model."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from tunelab.models.packaged import minilm_dir

    folder = tmp_path_factory.mktemp("other-embedder") / "tiny-bert"
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Torch on one thread while a RAG test module runs, then as it was. On 2 busy cores, two
    intra-op threads make one MiniLM query ~15-30x slower (threads wait on each other), and these
    tests embed a query at a time. Imported into each module (autouse there), so it never leaks."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
