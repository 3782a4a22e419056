"""`tunelab ingest` and `tunelab search` as a user runs them (typer's runner, in-process)."""

from __future__ import annotations

import json

import pytest
import typer
from rag_support import MAPPING, one_torch_thread, other_embedding_model, write_catalogue  # noqa: F401 - fixtures
from typer.testing import CliRunner

from tunelab.cli import rag

app = typer.Typer()
app.command("ingest")(rag.ingest)
app.command("search")(rag.search)
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def docs(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    write_catalogue(d / "catalogue.jsonl")
    (d / "faq.md").write_text("# FAQ\n\nOrders ship within two business days.")
    (d / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00" + bytes(30))
    return d


def test_ingest_then_search(home, docs, other_embedding_model):  # noqa: F811
    first = run("ingest", docs, "--collection", "shop", "--mapping", MAPPING)
    assert first.exit_code == 0, first.output
    assert f"{docs}: added 9, unchanged 0, updated 0, failed 1, skipped 0 (9 chunks embedded)" in first.stdout
    assert "binary file (NUL bytes in the first 8 KiB)" in first.stdout and "logo.png" in first.stdout
    again = run("ingest", docs, "-c", "shop")
    assert f"{docs}: added 0, unchanged 9, updated 0, failed 1, skipped 0 (0 chunks embedded)" in again.stdout

    found = run("search", "electric kettle", "-c", "shop", "--mode", "bm25", "-k", "2")
    assert found.exit_code == 0 and found.stdout.startswith("1. ") and "SteelBoil electric kettle" in found.stdout
    filtered = run("search", "kitchen", "-c", "shop", "--filter", "category=Kitchen", "--price-max", "30", "--json")
    assert [json.loads(line)["meta"]["record_id"] for line in filtered.stdout.splitlines()] == ["PAN-1"]
    hybrid = run("search", "how fast do orders ship", "-c", "shop", "-k", "1")
    assert "faq.md" in hybrid.stdout and "§ FAQ" in hybrid.stdout

    refused = run("search", "kettle", "-c", "shop", "--embedding-model", other_embedding_model)
    assert refused.exit_code == 2
    assert "error: Collection 'shop' was embedded with 'sentence-transformers/all-MiniLM-L6-v2'" in refused.output
    unknown = run("search", "kettle", "-c", "shoop")
    assert unknown.exit_code == 2 and "No collection 'shoop'. Collections: shop." in unknown.output
    bad_mode = run("search", "kettle", "-c", "shop", "--mode", "fuzzy")
    assert bad_mode.exit_code == 2 and "Unknown search mode 'fuzzy'; modes: dense, bm25, hybrid." in bad_mode.output
    no_model = run("search", "kettle", "-c", "shop", "--rerank", docs / "no-such-model")
    assert no_model.exit_code == 2 and "Could not load the cross-encoder" in no_model.output


def test_ingest_refuses_what_it_cannot_use(home, tmp_path):
    missing = run("ingest", tmp_path / "nope", "-c", "x")
    assert missing.exit_code == 2 and "Not found:" in missing.output
    bad = run("ingest", tmp_path, "-c", "x", "--chunk-size", "100", "--chunk-overlap", "200")
    assert bad.exit_code == 2 and "Chunk overlap (200) must be smaller than the chunk size (100)" in bad.output
    mapping = run("ingest", tmp_path, "-c", "x", "--mapping", "sku")
    assert mapping.exit_code == 2 and "Mapping entry 'sku' is not key=field" in mapping.output
