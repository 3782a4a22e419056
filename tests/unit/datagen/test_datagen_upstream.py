"""`generate_dataset` against a hosted model (a fake OpenAI-compatible server on loopback, the world
outside): preference pairs and [QA] records take their shape from the replies and keep the chunk they
came from; every request is constrained JSON; a model that keeps failing (429, then 503) is retried
honouring Retry-After, then stops the run with the reason, keeping what was made, and the same run
continues once it answers again; the same run as a `generate_data` job; sources without text."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from fake_chat_server import FakeChatServer, HTTPError
from typer.testing import CliRunner

from tunelab.cli import app
from tunelab.data.registry import DatasetRegistry
from tunelab.datagen.config import GenerateConfig
from tunelab.datagen.errors import DatagenError, GenerationStopped
from tunelab.datagen.generate import generate_dataset
from tunelab.datagen.prompts import WRITER
from tunelab.datagen.sources import load_chunks
from tunelab.jobs.kinds import JobConfigError
from tunelab.jobs.runner import run_job
from tunelab.jobs.service import JobService
from tunelab.rag import ingest
from tunelab.rag.chunk import ChunkConfig
from tunelab.settings import Settings
from tunelab.store import JOBS, Store
from tunelab.tasks.ecommerce.datasets import load_sample_products

RETURNS = "# Returns\n\nYou can return any item within 30 days of delivery for a full refund.\n"
SHIPPING = "# Shipping\n\nOrders ship within two business days from our warehouse in Leeds.\n\n" \
           "## Abroad\n\nInternational orders take a week and pay customs on arrival.\n"


@pytest.fixture
def docs(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "returns.md").write_text(RETURNS)
    (folder / "shipping.md").write_text(SHIPPING)
    return folder


def document_of(prompt: str) -> str:
    m = re.search(r"Document \((.*?)\):", prompt)
    return m.group(1) if m else "none"


def hosted(body: dict) -> str:
    """Questions name the chunk's heading; answers say whether they saw the document."""
    system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
    if system == WRITER:
        key = "question" if '{"question"' in user else "instruction"
        return json.dumps({key: f"What does the {document_of(user)} page say?"})
    if user.startswith("Document"):
        return json.dumps({"response": f"From the page: {document_of(user)}."})
    return json.dumps({"response": "I do not know."})


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=60))


def test_preference_pairs_are_grounded_and_labelled_and_every_request_is_constrained(settings, store, docs):
    with FakeChatServer(hosted) as server:
        spec = server.register(store)
        out = run(generate_dataset(GenerateConfig(sources=[str(docs)], kind="preference", n=4, name="pairs",
                                                  model=spec, concurrency=2), settings, store, progress=False))
    assert out.dataset.num_records == 4 and out.dataset.format == "preference" and out.skipped == {}
    rows = [json.loads(line) for line in Path(out.records_file).read_text().splitlines()]
    assert [r["meta"]["index"] for r in rows] == [0, 1, 2, 3]  # three chunks: the fourth record asks the first again
    for row in rows:
        meta = row["meta"]
        source_text = Path(meta["source"]).read_text()
        assert source_text[meta["start"]:meta["end"]] == meta["context"]  # offsets point at the chunk
        heading = meta["section"]
        assert row["prompt"][0]["content"] == f"What does the {heading} page say?"
        assert row["chosen"][0]["content"] == f"From the page: {heading}."  # answered from the chunk
        assert row["rejected"][0]["content"] == "I do not know."  # the same question without it
        assert meta["rejected_by"] == {"method": "no_context", "model": spec}
    assert {r["meta"]["section"] for r in rows} == {"Returns", "Shipping", "Shipping > Abroad"}
    assert len(server.requests) == 12  # question, chosen, rejected per record
    assert all(b["response_format"]["type"] == "json_schema" for b in server.requests)
    questions = [b for b in server.requests if b["messages"][0]["content"] == WRITER]
    assert sorted(b["seed"] for b in questions) == [0, 1, 2, 3] and {b["temperature"] for b in questions} == {0.8}
    lineage = DatasetRegistry(store, settings).get("pairs").stats["lineage"]
    assert lineage["generated_from"] == [str(docs.resolve())] and lineage["model"] == spec
    assert lineage["kind"] == "preference" and lineage["records_file"] == out.records_file


def test_qa_records_use_the_qa_format_with_their_chunk_as_the_source(settings, store, docs):
    with FakeChatServer(hosted) as server:
        spec = server.register(store)
        out = run(generate_dataset(GenerateConfig(sources=[str(docs / "returns.md")], kind="qa", n=2, name="qa",
                                                  model=spec), settings, store, progress=False))
    records = DatasetRegistry(store, settings).load("qa")
    assert len(records) == 2 and out.dataset.format == "messages"
    user, reply = records[0].messages[-2].content, records[0].messages[-1].content
    assert user.startswith("[QA]") and "[1] # Returns\n\nYou can return any item" in user
    assert user.endswith("Question: What does the Returns page say?")
    assert json.loads(reply) == {"answerable": True, "answer": "From the page: Returns.", "citations": [1]}
    shown = CliRunner().invoke(app, ["data", "show", "qa"]).stdout
    assert f"made:    qa records by {spec} from {docs / 'returns.md'} ({out.records_file})" in shown


def failing_after(ok: int, state: dict):
    """The hosted model answers `ok` requests, then rate-limits once and is down until state['up']."""

    def respond(body):
        state["times"].append(time.monotonic())
        if len(state["times"]) <= ok or state.get("up"):
            return hosted(body)
        return HTTPError(429, "0") if len(state["times"]) == ok + 1 else HTTPError(503, "0")

    return respond


def test_a_failing_model_stops_after_its_retries_keeping_what_was_made_and_the_run_continues(home, docs):
    settings = Settings(upstream_retries=2)

    store = Store(settings)
    state: dict = {"times": []}
    config = GenerateConfig(sources=[str(docs)], kind="instruction", n=4, name="inst", concurrency=1)
    with FakeChatServer(failing_after(4, state)) as server:  # two records (question + answer each)
        config = config.model_copy(update={"model": server.register(store)})
        with pytest.raises(GenerationStopped) as stopped:
            run(generate_dataset(config, settings, store, progress=False))
        assert len(server.requests) == 4 + 3  # the failing request: once and twice more (429, 503, 503)
        gaps = [b - a for a, b in zip(state["times"][4:], state["times"][5:])]
        assert sum(gaps) < 1.2  # Retry-After: 0 honoured (the backoff would wait 0.5 s, then 1 s)
        assert stopped.value.made == 2 and "503" in str(stopped.value) and "run the same command again" in str(stopped.value)
        partial = Path(stopped.value.partial)
        assert [json.loads(x).get("index") for x in partial.read_text().splitlines()[1:]] == [0, 1]
        assert "inst" not in DatasetRegistry(store, settings).names()

        state["up"] = True
        before = len(server.requests)
        out = run(generate_dataset(config, settings, store, progress=False))
        assert len(server.requests) - before == 4  # only records 2 and 3 were asked for
    assert out.dataset.num_records == 4 and out.made_now == 2 and not partial.exists()
    assert [json.loads(x)["meta"]["index"] for x in Path(out.records_file).read_text().splitlines()] == [0, 1, 2, 3]
    with pytest.raises(DatagenError, match="already exists"):
        run(generate_dataset(config, settings, store, progress=False))
    store.dispose()


def test_a_continued_run_must_be_asked_the_same(settings, store, docs):
    with FakeChatServer(lambda body: HTTPError(500, "0")) as server:
        spec = server.register(store)
        cfg = GenerateConfig(sources=[str(docs)], kind="instruction", n=2, name="same", model=spec)
        with pytest.raises(GenerationStopped, match="0 of 2"):
            run(generate_dataset(cfg, Settings(upstream_retries=0), store, progress=False))
        with pytest.raises(DatagenError, match="temperature differ.*--restart"):
            run(generate_dataset(cfg.model_copy(update={"temperature": 0.2}), settings, store, progress=False))


def test_generate_data_job_runs_the_same_generation(settings, store, docs):
    service = JobService(store, settings)
    with pytest.raises(JobConfigError, match="rejected=base applies to kind preference only"):
        service.submit("generate_data", {"sources": [str(docs)], "kind": "qa", "n": 2, "name": "x", "rejected": "base"})
    with FakeChatServer(hosted) as server:
        spec = server.register(store)
        job = service.submit("generate_data", {"sources": [str(docs)], "kind": "instruction", "n": 3, "name": "viajob",
                                               "model": spec})
        assert run_job(job.id, settings) == 0
    result = JOBS.by_key(store, job.id).result
    assert result["dataset"] == "viajob" and result["records"] == 3
    assert DatasetRegistry(store, settings).get("viajob").num_records == 3


def test_a_source_without_text_names_each_file_and_why(home, tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "blank.md").write_text("  \n")
    (folder / "photo.bin").write_bytes(b"\x89PNG\x00\x00\x01")
    (folder / "empty.pdf").write_bytes(b"%PDF-1.4 not really")
    out = CliRunner().invoke(app, ["data", "generate", "--from", str(folder), "--kind", "instruction", "--n", "2",
                                   "--name", "nothing"])
    assert out.exit_code == 2, out.output
    err = out.stderr
    assert err.startswith("error: No readable text to generate from")
    assert f"{folder / 'blank.md'}: no text" in err and f"{folder / 'photo.bin'}: binary file" in err
    assert f"{folder / 'empty.pdf'}: not a readable PDF" in err
    missing = CliRunner().invoke(app, ["data", "generate", "--from", "nowhere", "--kind", "qa", "--n", "1", "--name", "x"])
    assert missing.exit_code == 2 and "nowhere: not a file or folder, a collection" in missing.stderr


def test_rejected_answers_from_a_hotter_setting_are_labelled_so(settings, store, docs):
    with FakeChatServer(lambda b: json.dumps({"response": f"t={b['temperature']}"}) if b["messages"][0]["content"] !=
                        WRITER else hosted(b)) as server:
        spec = server.register(store)
        out = run(generate_dataset(GenerateConfig(sources=[str(docs / "returns.md")], kind="preference", n=1,
                                                  name="hot", model=spec, rejected="temperature", seed=7),
                                   settings, store, progress=False))
        hot = [b for b in server.requests if b["temperature"] == 1.5]
    row = json.loads(Path(out.records_file).read_text())
    assert row["chosen"][0]["content"] == "t=0.0" and row["rejected"][0]["content"] == "t=1.5"
    assert row["meta"]["rejected_by"] == {"method": "temperature", "temperature": 1.5, "model": spec}
    assert [b["seed"] for b in hot] == [7]
    with pytest.raises(DatagenError, match="rejected=base needs an adapter"):
        run(generate_dataset(GenerateConfig(sources=[str(docs)], kind="preference", n=1, name="b", model=spec,
                                            rejected="base"), settings, store, progress=False))


def test_the_catalogue_source_is_the_sample_train_split(settings, store):
    chunks, failures = load_chunks(["catalogue"], settings, store, chunking=ChunkConfig(size=1200, overlap=0))
    train = load_sample_products(split="train")
    assert failures == [] and len(chunks) == len(train)  # one chunk a product; no test product leaks in
    first = chunks[0]
    assert first.source.endswith(f"products.jsonl#{train[0].id}") and first.text.startswith(train[0].title)
    assert (first.start, first.end) == (0, len(first.text))  # a record's offsets index its product text
    assert len(load_chunks(["catalogue:test"], settings, store, chunking=ChunkConfig())[0]) == \
        len(load_sample_products(split="test"))


class HashingEmbedder:
    """A bag-of-words embedding made in the test (only the stored chunks matter here, not retrieval)."""

    name, dimension = "hashing-16", 16

    def embed(self, texts):
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, sum(map(ord, word)) % self.dimension] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_a_collection_source_gives_its_stored_chunks_located_in_their_files(settings, store, docs):

    ingest([str(docs)], "policies", settings=settings, store=store, embedder=HashingEmbedder(), progress=False)
    for spec in ("policies", "collection:policies"):
        chunks, failures = load_chunks([spec], settings, store, chunking=ChunkConfig())
        assert failures == [] and len(chunks) == 3
        for c in chunks:
            assert Path(c.source).read_text()[c.start:c.end] == c.text
