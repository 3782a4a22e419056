"""`tunelab ask` as a user runs it, over a catalogue ingested with `tunelab ingest`: the answer, then
the sources it cites; "the sources do not hold the answer" otherwise; --json; errors as one line.
Models: the tiny model on the built-in engine, and a hosted model played by a fake server on loopback
(the world outside) where the reply must be known. Also once as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import typer
from fake_chat_server import FakeChatServer
from rag_support import MAPPING, write_catalogue
from typer.testing import CliRunner

from tunelab.cli import ask, models, rag
from tunelab.tasks.ecommerce.prompts import NOT_IN_CONTEXT

app = typer.Typer()
app.command("ask")(ask.ask)
app.command("ingest")(rag.ingest)
app.add_typer(models.app, name="models")
runner = CliRunner()
ASK_CLI = "import typer; from tunelab.cli.ask import ask; typer.run(ask)"


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def hosted_reply(body: dict) -> str:
    """Answers from the source that mentions 'boils', citing it; declines when none does."""
    prompt = body["messages"][-1]["content"]
    sources = re.findall(r"^\[(\d+)\] (.*?)(?=^\[\d+\] |\n\nQuestion:)", prompt, re.S | re.M)
    hit = next((int(n) for n, text in sources if "boils" in text), None)
    if hit is None:
        return json.dumps({"answerable": False, "answer": NOT_IN_CONTEXT, "citations": []})
    return json.dumps({"answerable": True, "answer": f"It boils water in three minutes [{hit}].",
                       "citations": [hit]})


@pytest.fixture
def shop(home, tmp_path):
    catalogue = write_catalogue(tmp_path / "catalogue.jsonl")
    result = run("ingest", catalogue, "-c", "shop", "--mapping", MAPPING)
    assert result.exit_code == 0, result.output
    return home


@pytest.fixture
def hosted(shop, store):
    with FakeChatServer(hosted_reply) as server:
        server.register(store)
        yield server


def test_answer_then_cited_sources(hosted):
    result = run("ask", "How quickly does the Boil kettle heat water?", "-c", "shop", "-m", "hosted/model",
                 "--mode", "bm25", "-k", "3")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "It boils water in three minutes [1]."
    assert lines[2] == "Sources:"
    assert re.match(r"\[1\] SteelBoil electric kettle \(KETTLE-1\)  .*catalogue\.jsonl#KETTLE-1  score \d", lines[3])
    assert "1.7 litre stainless steel electric kettle that boils water in three minutes" in lines[4]
    assert len(lines) == 5  # only the cited source is listed


def test_unanswerable_and_json(hosted):
    declined = run("ask", "Which tent colours are there?", "-c", "shop", "-m", "hosted/model", "--mode", "bm25")
    assert declined.exit_code == 0
    assert declined.stdout.splitlines() == [NOT_IN_CONTEXT, "The sources do not hold the answer (1 retrieved)."]
    nothing = run("ask", "kettle?", "-c", "shop", "-m", "hosted/model", "--filter", "category=Garden")
    assert "The sources do not hold the answer (nothing was retrieved)." in nothing.stdout
    assert len(hosted.requests) == 1  # nothing retrieved: the model was not asked
    as_json = run("ask", "kettle speed? boils?", "-c", "shop", "-m", "hosted/model", "--mode", "bm25", "-k", "2",
                  "--price-max", "40", "--json")
    data = json.loads(as_json.stdout)
    assert data["answerable"] and [c["doc_id"] for c in data["citations"]] == ["KETTLE-1"]
    assert data["filters"] == {"price_max": 40.0} and all(s["index"] == i for i, s in enumerate(data["sources"], 1))


def test_tiny_model_on_the_engine_cites_retrieved_chunks(shop, tiny_model_dir):
    assert run("models", "add", "tiny", tiny_model_dir).exit_code == 0
    result = run("ask", "How fast does the electric kettle boil?", "-c", "shop", "-m", "tiny", "-k", "3", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [s["index"] for s in data["sources"]] == [1, 2, 3] and data["sources"][0]["doc_id"] == "KETTLE-1"
    assert all(c in data["sources"] for c in data["citations"])
    assert data["answerable"] == bool(data["citations"])  # the [QA] schema: an answer cites, a refusal does not


def test_errors_are_one_line(shop):
    unknown = run("ask", "kettle?", "-c", "shoop")
    assert unknown.exit_code == 2 and "No collection 'shoop'. Collections: shop." in unknown.output
    no_model = run("ask", "kettle?", "-c", "shop", "-m", "nope", "--mode", "bm25")
    assert no_model.exit_code == 2 and "'nope' is not a model, an adapter or an upstream here" in no_model.output
    bad_mode = run("ask", "kettle?", "-c", "shop", "--mode", "fuzzy", "-m", "nope")
    assert bad_mode.exit_code == 2 and "Unknown search mode 'fuzzy'" in bad_mode.output
    bad_k = run("ask", "kettle?", "-c", "shop", "-k", "0")
    assert bad_k.exit_code == 2 and "--k must be at least 1" in bad_k.output


def test_as_a_subprocess(hosted, shop):
    env = {**os.environ, "TUNELAB_HOME": str(shop), "TUNELAB_HUB_OFFLINE": "1", "TUNELAB_TORCH_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", ASK_CLI, "Is the kettle quick to boil?", "-c", "shop",
                           "-m", "hosted/model", "--mode", "bm25"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("It boils water in three minutes [1].\n\nSources:\n[1] SteelBoil electric kettle")
