"""Answers with citations over a small collection built here (the packaged MiniLM embeds it): a real
engine (tiny model) writes a constrained [QA] reply whose citations all point at retrieved chunks; a
hosted model (a fake server on loopback, the world outside) is used where the reply must be known:
citations mapped to the right chunks, unanswerable replies, nothing retrieved (the model not even
asked), self-query; and the numbered sources a grounded chat gets in its system message."""

from __future__ import annotations

import asyncio
import json
import re

import jsonschema
import pytest
from fake_chat_server import FakeChatServer
from rag_support import MAPPING, embedder, one_torch_thread, write_catalogue  # noqa: F401 - fixtures

from tunelab.rag import FieldMapping, Filters, Hit, Searcher, ingest
from tunelab.rag.answer import CitedAnswer, ask, cited_sources, grounding_messages, last_user_text
from tunelab.rag.cited_qa import qa_schema
from tunelab.tasks.ecommerce.prompts import NOT_IN_CONTEXT
from tunelab.tasks.local import open_task_models


@pytest.fixture(scope="module")
def shop(tmp_path_factory, embedder):  # noqa: F811
    from tunelab.settings import Settings
    from tunelab.store import Store

    root = tmp_path_factory.mktemp("answer-shop")
    settings = Settings(home=root / "home", hub_offline=True)
    store = Store(settings)
    ingest([write_catalogue(root / "catalogue.jsonl")], "shop", settings=settings, store=store, embedder=embedder,
           mapping=FieldMapping.parse(MAPPING), progress=False)
    yield settings, store
    store.dispose()


@pytest.fixture
def searcher(shop, embedder):  # noqa: F811
    return Searcher.open("shop", settings=shop[0], store=shop[1], embedder=embedder)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=120))


async def asking(specs, settings, store, question, **kw) -> CitedAnswer:
    async with open_task_models(specs, settings, store, loaded=kw.pop("loaded", None)) as [model]:
        return await ask(question, model=model, **kw)


def test_a_real_engine_cites_only_retrieved_chunks(tiny, settings, store, searcher):
    result = run(asking(["tiny"], settings, store, "How fast does the electric kettle boil water?",
                        searcher=searcher, k=3, mode="hybrid", loaded={"tiny": tiny}, answer_mode="free"))
    assert [s.index for s in result.sources] == [1, 2, 3]
    assert result.sources[0].doc_id == "KETTLE-1"  # the retrieval the answer rests on
    jsonschema.validate(json.loads(result.raw), qa_schema(3))  # constrained: always a well-formed reply
    retrieved = {s.chunk_id: s for s in result.sources}
    assert all(retrieved[c.chunk_id] == c for c in result.citations)
    if result.answerable:
        assert result.citations and result.answer.strip()
    else:
        assert result.citations == [] and result.answer == NOT_IN_CONTEXT
    assert json.loads(json.dumps(result.to_dict()))["question"] == result.question
    grounded = run(asking(["tiny"], settings, store, "How fast does the electric kettle boil water?",
                          searcher=searcher, k=3, mode="hybrid", loaded={"tiny": tiny}))  # auto: grounded
    assert grounded.answer_mode == "grounded" and grounded.answerable
    q = grounded.quote
    assert grounded.answer == q["text"] == grounded.sources[q["source"] - 1].text[q["start"]:q["end"]]
    assert grounded.citations == [grounded.sources[q["source"] - 1]]


def qa_reply(body: dict) -> str:
    """The hosted model: cites the source that mentions 'boils' (and a source that does not exist);
    says it cannot answer when no source mentions it."""
    prompt = body["messages"][-1]["content"]
    sources = re.findall(r"^\[(\d+)\] (.*?)(?=^\[\d+\] |\n\nQuestion:)", prompt, re.S | re.M)
    hit = next((n for n, text in sources if "boils" in text), None)
    if hit is None:
        return json.dumps({"answerable": False, "answer": NOT_IN_CONTEXT, "citations": []})
    return json.dumps({"answerable": True, "answer": f"In three minutes [{hit}].", "citations": [int(hit), 9]})


def test_citations_point_at_the_chunks_the_answer_used(settings, store, searcher):
    with FakeChatServer(qa_reply) as server:
        spec = server.register(store)
        result = run(asking([spec], settings, store, "how quick is the kettle from Boil?", searcher=searcher,
                            k=4, mode="bm25"))
        unanswerable = run(asking([spec], settings, store, "what colours does the tent come in?",
                                  searcher=searcher, k=2, mode="bm25"))
    assert result.answerable and result.answer == "In three minutes [1]."
    assert [(c.index, c.doc_id) for c in result.citations] == [(1, "KETTLE-1")]  # 9 names no source: dropped
    assert result.citations[0].chunk_id == result.sources[0].chunk_id
    assert "boils water in three minutes" in result.citations[0].snippet
    prompt = server.requests[0]["messages"][-1]["content"]
    assert "[1] SteelBoil electric kettle" in prompt and "Question: how quick is the kettle from Boil?" in prompt
    assert not unanswerable.answerable and unanswerable.citations == [] and unanswerable.answer == NOT_IN_CONTEXT
    assert [s.doc_id for s in unanswerable.sources][0] == "TENT-1"  # retrieved, but it does not say


def test_nothing_retrieved_means_unanswerable_without_asking(settings, store, searcher):
    with FakeChatServer(qa_reply) as server:
        spec = server.register(store)
        result = run(asking([spec], settings, store, "a kettle?", searcher=searcher, mode="bm25",
                            filters=Filters(category="Garden")))
        with pytest.raises(ValueError, match="empty"):
            run(asking([spec], settings, store, "  ", searcher=searcher))
    assert (result.answerable, result.answer, result.citations, result.sources) == (False, NOT_IN_CONTEXT, [], [])
    assert result.filters == {"category": "Garden"} and server.requests == []


def test_self_query_rewrites_the_search_not_the_question(settings, store, searcher):
    def reply(body):
        if "product search" in body["messages"][0]["content"]:  # the self-query prompt
            return json.dumps({"query": "water kettle", "category": "Kitchen", "brand": None, "price_min": None,
                               "price_max": 40})
        return qa_reply(body)

    with FakeChatServer(reply) as server:
        spec = server.register(store)
        result = run(asking([spec], settings, store, "Kitchen gadget that boils water fast, under $40?",
                            searcher=searcher, k=3, mode="hybrid", self_query=True))
    assert result.query == "water kettle" and result.filters == {"category": "Kitchen", "price_max": 40.0}
    assert {s.doc_id for s in result.sources} <= {"KETTLE-1", "PAN-1"}  # only Kitchen at most 40
    assert [c.doc_id for c in result.citations] == ["KETTLE-1"]
    asked = server.requests[-1]["messages"][-1]["content"]
    assert "Question: Kitchen gadget that boils water fast, under $40?" in asked


def test_grounding_messages_and_markers():
    hits = [Hit("c1", "Kettle boils in three minutes.", 0.9, {"source": "cat#KETTLE-1", "record_id": "KETTLE-1"}),
            Hit("c2", "Tent sets up in five minutes.", 0.5, {"source": "cat#TENT-1", "record_id": "TENT-1"})]
    chat = [{"role": "system", "content": "You are a shop assistant."},
            {"role": "user", "content": "How fast is the kettle?"}]
    grounded = grounding_messages(chat, hits)
    assert grounded[1:] == chat[1:] and chat[0]["content"] == "You are a shop assistant."  # input untouched
    system = grounded[0]["content"]
    assert system.startswith("You are a shop assistant.\n\nAnswer from the numbered sources")
    assert system.endswith("Sources:\n[1] Kettle boils in three minutes.\n[2] Tent sets up in five minutes.")
    parts = [{"role": "user", "content": [{"type": "text", "text": "Tent?"}]}]
    added = grounding_messages(parts, [])
    assert added[0]["role"] == "system" and added[0]["content"].endswith("Sources: none were found.")
    assert added[1:] == parts and last_user_text(parts) == "Tent?" and last_user_text(chat) == "How fast is the kettle?"
    cited = cited_sources("It takes three minutes [2], see also [1, 2] and [7].", hits)
    assert [(c.index, c.doc_id, c.chunk_id) for c in cited] == [(2, "TENT-1", "c2"), (1, "KETTLE-1", "c1")]
