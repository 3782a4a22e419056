"""/v1/tasks/classify, /extract and /qa on a real server (tiny model, a small taxonomy file): every
classification is a taxonomy id with its own full path, extraction validates against the requested
attributes, QA cites sources it was given; the same through a second TuneLab as an upstream
(no likelihoods there: constrained choice + retrieval); bad input is a 4xx naming the field."""

from __future__ import annotations

import json

import httpx
import jsonschema
import pytest
from serve_harness import ServerThread, make_lora

from tunelab.adapters import AdapterRegistry
from tunelab.models.catalogue import Catalogue
from tunelab.rag import ingest
from tunelab.serve.app import create_app
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.tasks.ecommerce.attributes import attribute_json_schema, parse_attribute_spec
from tunelab.tasks.ecommerce.taxonomy import Taxonomy
from tunelab.upstreams import UpstreamRegistry

TAXONOMY = """\
# Google_Product_Taxonomy_Version: api-test
1 - Animals & Pet Supplies
2 - Animals & Pet Supplies > Pet Supplies
3 - Animals & Pet Supplies > Pet Supplies > Dog Supplies
4 - Animals & Pet Supplies > Pet Supplies > Dog Supplies > Dog Beds
6 - Apparel & Accessories
7 - Apparel & Accessories > Shoes
8 - Apparel & Accessories > Clothing
9 - Apparel & Accessories > Clothing > Shirts & Tops
10 - Home & Garden
11 - Home & Garden > Kitchen & Dining
13 - Home & Garden > Kitchen & Dining > Kitchen Tools & Utensils
12 - Home & Garden > Kitchen & Dining > Kitchen Tools & Utensils > Kitchen Knives
16 - Electronics
19 - Electronics > Audio
17 - Electronics > Audio > Headphones
"""
DOCS = {
    "bottle.md": "# Trail bottle\n\nThe Trail bottle holds 750 ml and keeps drinks cold for 24 hours.",
    "returns.md": "# Returns\n\nUnworn items can be returned within 30 days for a full refund.",
    "knife.md": "# Chef knife\n\nThe 8 inch chef knife is forged from German stainless steel.",
}
TITLES = ["Orthopedic memory foam dog bed, large, washable cover", "Wireless over-ear headphones with noise cancelling",
          "8 inch stainless steel chef knife", "Men's cotton crew neck t-shirt, navy"]


def _home(tmp_path_factory, name: str, tiny_model_dir) -> tuple[Settings, Store]:
    home = tmp_path_factory.mktemp(name) / "home"
    home.mkdir(parents=True)
    (home / "taxonomy.txt").write_text(TAXONOMY)
    settings = Settings(home=home, hub_offline=True, taxonomy=home / "taxonomy.txt", torch_threads=1)
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    return settings, store


@pytest.fixture(scope="module")
def servers(tmp_path_factory, tiny_model_dir):
    up_settings, up_store = _home(tmp_path_factory, "tasks-upstream", tiny_model_dir)
    upstream = ServerThread(create_app(up_settings, model="tiny", embeddings=False))
    settings, store = _home(tmp_path_factory, "tasks-api", tiny_model_dir)
    AdapterRegistry(store, settings).register(
        "shop-a", kind="lora", path=make_lora(tiny_model_dir, settings.home / "loras" / "shop-a", seed=1),
        base_model="tiny")
    UpstreamRegistry(store).add("up", upstream.v1)
    docs = settings.home.parent / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    ingest([docs], "manuals", settings=settings, store=store, progress=False)  # the packaged MiniLM
    server = ServerThread(create_app(settings, model="tiny", engine="auto", embeddings=False))
    yield server
    server.stop()
    upstream.stop()
    store.dispose()
    up_store.dispose()


def post(server, path: str, body: dict) -> httpx.Response:
    return httpx.post(server.v1 + path, json=body, timeout=120)


@pytest.mark.parametrize("model", ["tiny", "shop-a", "up/tiny"])
def test_classify_always_answers_a_taxonomy_id_and_its_path(servers, model):
    taxonomy = Taxonomy.parse(TAXONOMY)
    products = TITLES[:3] + [{"title": TITLES[3], "brand": "Acme", "bullet_points": ["100% cotton"]}]
    r = post(servers, "/tasks/classify", {"model": model, "input": products, "top_k": 3, "candidates": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == model and body["taxonomy_version"] == "api-test"
    assert [d["index"] for d in body["data"]] == [0, 1, 2, 3]
    for d in body["data"]:
        assert d["id"] in taxonomy and d["path"] == taxonomy.path(d["id"])
        assert 1 <= len(d["top_k"]) <= 3 and d["top_k"][0]["id"] == d["id"]
        for c in d["top_k"]:
            assert c["path"] == taxonomy.path(c["id"])
        scores = [c["score"] for c in d["top_k"]]
        assert scores == sorted(scores, reverse=True)
        if model == "up/tiny":  # an upstream gives no likelihoods: its constrained pick, then retrieval
            assert d["method"] in ("constrained+retrieval", "retrieval")
        else:
            assert d["method"] == "hybrid" and 0 < sum(scores) <= 1.0 + 1e-6


def test_an_adapter_changes_the_ranking_scores(servers):
    a, b = (post(servers, "/tasks/classify", {"model": m, "input": TITLES[0], "top_k": 5}).json()["data"][0]
            for m in ("tiny", "shop-a"))
    assert [c["score"] for c in a["top_k"]] != [c["score"] for c in b["top_k"]]


@pytest.mark.parametrize("model", ["tiny", "up/tiny"])
def test_extract_validates_against_the_requested_attributes(servers, model):
    attributes = {"Color": "string", "Size": ["Small", "Medium", "Large"], "Pieces": "integer"}
    r = post(servers, "/tasks/extract", {"model": model, "input": ["Red cotton socks, size Medium, 6 pairs",
                                                                   "A blue mug"], "attributes": attributes})
    assert r.status_code == 200, r.text
    schema = attribute_json_schema(parse_attribute_spec(attributes))
    for d in r.json()["data"]:
        assert list(d["values"]) == list(attributes)
        jsonschema.validate(d["values"], schema)


def test_qa_answers_from_context_with_citations_in_range(servers):
    context = ["The bottle holds 750 ml.", "It ships in a cardboard box."]
    r = post(servers, "/tasks/qa", {"model": "tiny", "question": "How much does it hold?", "context": context})
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body["answerable"], bool) and isinstance(body["answer"], str)
    assert [s["text"] for s in body["sources"]] == context
    for c in body["citations"]:
        assert 1 <= c["index"] <= 2 and c["text"] == context[c["index"] - 1]
    empty = post(servers, "/tasks/qa", {"model": "tiny", "question": "How much does it hold?"}).json()
    assert empty["answerable"] is False and empty["citations"] == []


@pytest.mark.parametrize("path,body,needle", [
    ("/tasks/classify", {"model": "tiny", "input": [{"title": "  "}]}, "input[0].title"),
    ("/tasks/classify", {"model": "tiny", "input": []}, "input"),
    ("/tasks/extract", {"model": "tiny", "input": "x", "attributes": {"Color": "colour"}}, "Color"),
    ("/tasks/qa", {"model": "tiny", "question": " "}, "question"),
])
def test_bad_input_is_a_400_that_names_the_field(servers, path, body, needle):
    r = post(servers, path, body)
    assert r.status_code == 400, r.text
    assert needle in r.text


def test_an_unknown_model_is_a_404_listing_what_exists(servers):
    r = post(servers, "/tasks/classify", {"model": "nope", "input": "a dog bed"})
    assert r.status_code == 404 and "shop-a" in r.text


def test_qa_over_a_collection_cites_retrieved_chunks(servers):
    r = post(servers, "/tasks/qa", {"model": "tiny", "question": "How much does the Trail bottle hold?",
                                    "collection": "manuals", "k": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["sources"]) == 2 and body["sources"][0]["source"].endswith("bottle.md")
    assert [s["index"] for s in body["sources"]] == [1, 2]
    by_index = {s["index"]: s for s in body["sources"]}
    for c in body["citations"]:
        assert c == by_index[c["index"]]
    missing = post(servers, "/tasks/qa", {"model": "tiny", "question": "hold?", "collection": "nope"})
    assert missing.status_code == 404 and "manuals" in missing.text


def test_chat_grounded_in_a_collection_gets_the_sources(servers):
    ask = {"model": "tiny", "messages": [{"role": "user", "content": "What is the return window?"}],
           "max_tokens": 8, "temperature": 0}
    plain = httpx.post(servers.v1 + "/chat/completions", json=ask, timeout=60).json()
    grounded = httpx.post(servers.v1 + "/chat/completions", json={**ask, "tunelab_collection": "manuals",
                                                                   "tunelab_k": 2}, timeout=60).json()
    assert "tunelab_sources" not in plain
    sources = grounded["tunelab_sources"]
    assert len(sources) == 2 and sources[0]["source"].endswith("returns.md")
    # the sources went into the prompt
    assert grounded["usage"]["prompt_tokens"] > plain["usage"]["prompt_tokens"] + 20
    assert all(c in sources for c in grounded["tunelab_citations"])


def test_streamed_grounded_chat_sends_the_sources_first_and_the_citations_last(servers):
    ask = {"model": "tiny", "messages": [{"role": "user", "content": "What is the return window?"}],
           "max_tokens": 8, "temperature": 0, "tunelab_collection": "manuals", "tunelab_k": 2}
    whole = httpx.post(servers.v1 + "/chat/completions", json=ask, timeout=60).json()
    with httpx.stream("POST", servers.v1 + "/chat/completions", json={**ask, "stream": True}, timeout=60) as resp:
        assert resp.status_code == 200
        lines = [ln[6:] for ln in resp.iter_lines() if ln.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(ln) for ln in lines[:-1]]
    first, last = chunks[0], chunks[-1]
    assert first["choices"] == [] and first["tunelab_sources"] == whole["tunelab_sources"]
    assert last["choices"] == [] and last["tunelab_citations"] == whole["tunelab_citations"]
    middle = chunks[1:-1]
    assert all("tunelab_sources" not in c and "tunelab_citations" not in c for c in middle)
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == first["id"] for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in middle if c["choices"])
    assert text == whole["choices"][0]["message"]["content"]
    plain = {k: v for k, v in ask.items() if not k.startswith("tunelab_")}
    with httpx.stream("POST", servers.v1 + "/chat/completions", json={**plain, "stream": True}, timeout=60) as resp:
        assert all("tunelab_" not in ln for ln in resp.iter_lines())
