"""Self-query and query expansion by a model: the reply's parsing (bad values dropped, never a crash),
the constrained JSON a real engine writes (tiny model), the allowed values read from the collection,
and the sync `Searcher.search` hook bridged to the async model from a worker thread (and refused on
the event loop's own thread)."""

from __future__ import annotations

import asyncio
import json

import anyio
import jsonschema
import pytest
from fake_chat_server import FakeChatServer
from rag_support import MAPPING, embedder, one_torch_thread, write_catalogue  # noqa: F401 - fixtures

from tunelab.rag import FieldMapping, Filters, Searcher, ingest
from tunelab.rag.expand import ModelQueryExpander, expansion_schema, parse_expansion
from tunelab.rag.self_query import (
    ModelSelfQuery,
    collection_values,
    parse_self_query,
    self_query_messages,
    self_query_schema,
    stated_in,
)
from tunelab.tasks.local import open_task_models

CATEGORIES = ["Apparel", "Home", "Kitchen", "Outdoors", "Shoes"]


def test_a_good_reply_becomes_query_and_filters():
    raw = json.dumps({"query": "frying pan", "category": "Kitchen", "brand": None, "price_min": None, "price_max": 30})
    r = parse_self_query(raw, "a pan for the kitchen, under 30?", CATEGORIES, ["Acme"])
    assert (r.query, r.filters, r.notes) == ("frying pan", Filters(category="Kitchen", price_max=30), [])
    assert r.as_dict() == {"query": "frying pan", "filters": {"category": "Kitchen", "price_max": 30.0}, "notes": []}


def test_bad_values_are_dropped_with_a_note_never_raised():
    raw = json.dumps({"query": " ", "category": "Garden", "brand": 7, "price_min": 80, "price_max": 20})
    r = parse_self_query(raw, "tent under 80", CATEGORIES, None, grounded=False)
    assert r.query == "tent under 80"  # no query in the reply: the question itself
    assert r.filters == Filters(price_min=20, price_max=80)  # swapped, not refused
    assert any("'Garden' is not in the collection" in n for n in r.notes)
    assert any("brand 7 is not text" in n for n in r.notes)
    assert parse_self_query(json.dumps({"query": "x", "price_max": -3}), "q").filters == Filters()
    broken = parse_self_query("{not json", "red shoes")
    assert (broken.query, broken.filters) == ("red shoes", Filters()) and broken.notes
    assert parse_self_query(json.dumps({"query": "query"}), "red shoes").query == "red shoes"  # the key echoed


def test_filters_the_question_does_not_state_are_dropped():
    """A small model invents filters; one wrong filter hides every relevant product."""
    invented = json.dumps({"query": "dog bed", "category": "Pets > Cat Beds", "brand": "Acme", "price_min": 10,
                           "price_max": 15})
    r = parse_self_query(invented, "a cheap dog bed from Pawford under $49.99")
    assert r.filters == Filters() and len(r.notes) == 4
    stated = json.dumps({"query": "dog bed", "category": "Pets > Dog Beds", "brand": "Pawford", "price_min": None,
                         "price_max": 49.99})
    r = parse_self_query(stated, "cheap dog beds from pawford under $49.99")
    assert r.filters == Filters(category="Pets > Dog Beds", brand="Pawford", price_max=49.99) and r.notes == []
    bag = json.dumps({"query": "bag", "category": "Mature > Gun Cases & Range Bags", "brand": None,
                      "price_min": None, "price_max": None})
    assert parse_self_query(bag, "a range bag").filters.category == "Mature > Gun Cases & Range Bags"
    assert parse_self_query(invented, "dog bed", grounded=False).filters.brand == "Acme"
    copied = parse_self_query(json.dumps({"query": "waterproof hiking backpack"}), "a yoga mat in plum")
    assert copied.query == "a yoga mat in plum" and "shares no word" in copied.notes[0]


def test_schema_and_prompt_carry_the_allowed_values():
    schema = self_query_schema(CATEGORIES, None)
    assert schema["properties"]["category"] == {"enum": [*CATEGORIES, None]}
    assert schema["properties"]["brand"]["anyOf"][1] == {"type": "null"}
    jsonschema.validate({"query": "q", "category": None, "brand": "Zed", "price_min": 1.5, "price_max": None}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"query": "q", "category": "Garden", "brand": None, "price_min": None,
                             "price_max": None}, schema)
    user = self_query_messages("tents?", CATEGORIES, ["Acme"])[1]["content"]
    assert "Categories: Apparel; Home; Kitchen; Outdoors; Shoes" in user and "Brands: Acme" in user
    assert parse_expansion(json.dumps({"queries": ["Shoes ", "shoes", "sneakers", "", "trail shoes?"]}), "shoes?", 2) \
        == ["Shoes", "sneakers"]
    assert parse_expansion("nope", "q", 3) == [] and expansion_schema(2)["properties"]["queries"]["maxItems"] == 2


@pytest.fixture(scope="module")
def shop(tmp_path_factory, embedder):  # noqa: F811
    from tunelab.settings import Settings
    from tunelab.store import Store

    root = tmp_path_factory.mktemp("sq-shop")
    settings = Settings(home=root / "home", hub_offline=True)
    store = Store(settings)
    ingest([write_catalogue(root / "catalogue.jsonl")], "shop", settings=settings, store=store, embedder=embedder,
           mapping=FieldMapping.parse(MAPPING), progress=False)
    yield settings, store
    store.dispose()


def test_allowed_values_come_from_the_collection(shop):
    searcher = Searcher.open("shop", settings=shop[0], store=shop[1])
    assert collection_values(searcher, "category") == CATEGORIES
    assert collection_values(searcher, "brand") == ["Acme", "Boil", "Lumen", "Stride", "Summit"]
    assert collection_values(searcher, "brand", limit=3) is None  # too many: free text
    assert collection_values(searcher, "no_such_field") == []


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=120))


def test_a_real_engine_writes_valid_json_and_the_hook_applies_it(tiny, settings, store, shop, embedder):  # noqa: F811
    """The tiny random model's reply is constrained to the schema; whatever it decides, a search
    through the hook (in a worker thread) equals a search with that query and those filters."""
    searcher = Searcher.open("shop", settings=shop[0], store=shop[1], embedder=embedder)

    async def main():
        async with open_task_models(["tiny"], settings, store, loaded={"tiny": tiny}) as [model]:
            sq = ModelSelfQuery.for_searcher(model, searcher)
            schema = self_query_schema(sq.categories, sq.brands)
            results = []
            for question in ("cheap kitchen things under $30", "waterproof tent from Summit"):
                parsed = await sq.parse(question)
                jsonschema.validate(json.loads(parsed.raw), schema)
                assert parsed.query.strip()
                kept = parsed.filters.model_dump(exclude_none=True, exclude={"fields"})
                assert all(stated_in(question, f, v) for f, v in kept.items())
                hooked = await anyio.to_thread.run_sync(
                    lambda q=question: searcher.search(q, mode="bm25", self_query=sq, filters=Filters(brand="Acme")))
                decided = sq.last
                direct = searcher.search(decided.query, mode="bm25",
                                         filters=Filters(brand="Acme").merged(decided.filters))
                results.append(([h.id for h in hooked], [h.id for h in direct]))
            with pytest.raises(RuntimeError, match="event loop's thread"):
                searcher.search("tent", mode="bm25", self_query=sq)
            expander = ModelQueryExpander(model, n=2)
            more = await expander.expand("shoes for running")
            assert len(more) <= 2 and all(q.strip() for q in more)
            via_hook = await anyio.to_thread.run_sync(lambda: expander("shoes for running"))
            assert via_hook == more  # temperature 0: the same reply
            return results

    for hooked, direct in run(main()):
        assert hooked == direct


def test_the_hook_needs_the_models_loop():
    sq = ModelSelfQuery(model=None)  # made outside any loop: no way back to one
    with pytest.raises(RuntimeError, match="needs the event loop its model runs on"):
        sq("tents")


def test_a_hosted_models_decision_filters_the_search(settings, store, shop, embedder):  # noqa: F811
    """A hosted model (a fake server on loopback) decides query and filters; the search through the
    hook honours both, the request carried the schema with the collection's categories, and
    expansion's extra queries find what the question's words alone miss."""
    replies = {"self": json.dumps({"query": "cooking pan", "category": "Kitchen", "brand": None, "price_min": None,
                                   "price_max": 30}),
               "expand": json.dumps({"queries": ["frying pan", "skillet"]})}
    searcher = Searcher.open("shop", settings=shop[0], store=shop[1], embedder=embedder)

    with FakeChatServer(lambda body: replies["expand" if "search queries" in body["messages"][0]["content"]
                                             else "self"]) as server:
        spec = server.register(store)

        async def main():
            async with open_task_models([spec], settings, store) as [model]:
                sq = ModelSelfQuery.for_searcher(model, searcher)
                question = "something under $30 to cook with in the kitchen"
                plain = searcher.search(question, mode="bm25")
                found = await anyio.to_thread.run_sync(
                    lambda: searcher.search(question, mode="hybrid", self_query=sq))
                expander = ModelQueryExpander(model)
                words_alone = searcher.search("something to cook dinner with", mode="bm25")
                expanded = await anyio.to_thread.run_sync(
                    lambda: searcher.search("something to cook dinner with", mode="bm25", expand=expander))
                return plain, found, words_alone, expanded

        plain, found, words_alone, expanded = run(main())
    assert {h.doc_id for h in plain} == {"KETTLE-1", "PAN-1"}  # the question's words: both kitchen products
    assert [h.doc_id for h in found] == ["PAN-1"]  # Kitchen and at most 30: the kettle (35.50) is out
    assert words_alone == [] and [h.doc_id for h in expanded] == ["PAN-1"]  # by "frying pan" and "skillet" only
    sent = server.requests[0]
    assert sent["temperature"] == 0 and sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["properties"]["category"] == {"enum": [*CATEGORIES, None]}
    assert "Question: something under $30 to cook with in the kitchen" in sent["messages"][-1]["content"]
