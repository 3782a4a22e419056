"""Search pieces: reciprocal rank fusion, filters (Chroma `where` and the same rule in Python), the
persisted BM25 index, query expansion, the self-query hook, cross-encoder reranking with a model
fine-tuned here from the packaged MiniLM, and retrieval metrics over a collection."""

from __future__ import annotations

import pytest
from rag_support import MAPPING, embedder, one_torch_thread, write_catalogue  # noqa: F401 - fixtures

from tunelab.eval.retrieval import evaluate_retrieval
from tunelab.rag import (
    BM25Index,
    FieldMapping,
    Filters,
    Hit,
    Searcher,
    UnknownCollectionError,
    ingest,
    load_reranker,
    rerank,
    rrf,
)
from tunelab.rag.registry import CollectionRegistry
from tunelab.settings import Settings
from tunelab.store import Store


def hits(*ids):
    return [Hit(id=i, text=i, score=0.0) for i in ids]


def test_rrf_adds_reciprocal_ranks():
    fused = rrf([hits("a", "b", "c"), hits("c", "a", "d")], k=60)
    assert [h.id for h in fused] == ["a", "c", "b", "d"]
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 62)
    assert fused[1].score == pytest.approx(1 / 63 + 1 / 61)
    assert fused[3].score == pytest.approx(1 / 63)
    assert [h.id for h in rrf([hits("x", "x", "y")], k=0)] == ["x", "y"]  # a repeat counts once, at its best rank
    assert [h.id for h in rrf([hits("a", "b"), hits("c", "d")], limit=3)] == ["a", "c", "b"]


def test_filters_translate_to_chroma_where_and_match_the_same():
    f = Filters(category="Shoes", brand="Acme", price_min=10, price_max=50)
    assert f.to_where() == {"$and": [{"category": {"$eq": "Shoes"}}, {"brand": {"$eq": "Acme"}},
                                     {"price": {"$gte": 10.0}}, {"price": {"$lte": 50.0}}]}
    assert Filters(price_max=5).to_where() == {"price": {"$lte": 5.0}}
    assert Filters().to_where() is None and not Filters()
    assert f.matches({"category": "Shoes", "brand": "Acme", "price": 10})
    assert not f.matches({"category": "Shoes", "brand": "Acme", "price": 50.01})
    assert not f.matches({"category": "Shoes", "brand": "Acme"})  # no price: filtered out, as in Chroma
    assert not f.matches({"category": "shoes", "brand": "Acme", "price": 20})  # exact, case-sensitive
    parsed = Filters.parse(["category=Shoes", "color=red", "in_stock=true", "size=42"], price_max=99)
    assert parsed == Filters(category="Shoes", price_max=99, fields={"color": "red", "in_stock": True, "size": 42})
    with pytest.raises(ValueError, match="price_min \\(60.0\\) is above price_max \\(50.0\\)"):
        Filters(price_min=60, price_max=50)
    with pytest.raises(ValueError, match="is not KEY=VALUE"):
        Filters.parse(["category"])


def test_bm25_index_round_trips_and_filters(tmp_path):
    chunks = [Hit("1", "Red trail running shoes", 0, {"category": "Shoes", "price": 90.0}),
              Hit("2", "Blue running shorts", 0, {"category": "Apparel", "price": 20.0}),
              Hit("3", "Electric kettle", 0, {"category": "Kitchen", "price": 35.0})]
    BM25Index.build(chunks).save(tmp_path / "idx")
    index = BM25Index.load(tmp_path / "idx")
    assert [h.id for h in index.search("running shoes")] == ["1", "2"]
    assert [h.id for h in index.search("running", filters=Filters(price_max=50))] == ["2"]
    assert index.search("the of and") == [] and index.search("zebra") == []
    assert BM25Index.load(tmp_path / "absent").search("shoes") == []


@pytest.fixture(scope="module")
def shop(tmp_path_factory, embedder):  # noqa: F811
    """The catalogue ingested once into the embedded store of a home of this module's own."""
    root = tmp_path_factory.mktemp("shop")
    settings = Settings(home=root / "home", hub_offline=True)
    store = Store(settings)
    ingest([write_catalogue(root / "catalogue.jsonl")], "shop", settings=settings, store=store, embedder=embedder,
           mapping=FieldMapping.parse(MAPPING), progress=False)
    yield settings, store
    store.dispose()


def test_bm25_needs_no_model_and_no_vector_store(shop):
    settings, store = shop
    searcher = Searcher.open("shop", settings=settings, store=store)
    assert [h.doc_id for h in searcher.search("kettle", mode="bm25", k=3)] == ["KETTLE-1"]
    assert searcher._embedder is None and searcher._vectors is None  # nothing loaded or opened


def test_query_expansion_finds_what_the_words_alone_miss(shop, embedder):  # noqa: F811
    searcher = Searcher.open("shop", settings=shop[0], store=shop[1], embedder=embedder)
    assert searcher.search("footwear", mode="bm25") == []
    expanded = searcher.search("footwear", mode="bm25", expand=lambda q: ["shoes", "sneakers"])
    assert {h.doc_id for h in expanded} == {"SHOE-1", "SHOE-2"}


def test_self_query_hook_sets_query_and_filters(shop, embedder):  # noqa: F811
    searcher = Searcher.open("shop", settings=shop[0], store=shop[1], embedder=embedder)
    asked = []

    def self_query(question):
        asked.append(question)
        return "shoes", Filters(price_max=60, brand="Nobody")

    found = searcher.search("cheap shoes please", mode="hybrid", self_query=self_query, filters=Filters(brand="Stride"))
    assert asked == ["cheap shoes please"]
    assert [h.doc_id for h in found] == ["SHOE-2"]  # price_max from the hook, brand from the caller


def test_retrieval_metrics_over_the_collection(shop, embedder):  # noqa: F811
    searcher = Searcher.open("shop", settings=shop[0], store=shop[1], embedder=embedder)
    queries = ["electric kettle", "dome tent for camping", "desk lamp with usb"]
    relevant = [{"KETTLE-1"}, {"TENT-1"}, {"LAMP-1"}]
    scores = evaluate_retrieval(searcher, queries, relevant, k=3, mode="hybrid")
    assert (scores.recall, scores.mrr, scores.ndcg) == (1.0, 1.0, 1.0)
    assert [r[0] for r in scores.rankings] == ["KETTLE-1", "TENT-1", "LAMP-1"]
    assert scores.as_dict()["recall@3"] == 1.0


def test_unknown_collection_names_the_known_ones(shop):
    with pytest.raises(UnknownCollectionError, match="No collection 'shoop'. Collections: shop."):
        Searcher.open("shoop", settings=shop[0], store=shop[1])
    assert CollectionRegistry(shop[1], shop[0]).names() == ["shop"]


PASSAGES = {
    "KETTLE-1": "SteelBoil electric kettle: 1.7 litre stainless steel kettle that boils water in three minutes.",
    "TENT-1": "Two-person dome tent: waterproof camping tent that sets up in five minutes.",
    "SHOE-1": "TrailRunner 2 running shoes: lightweight trail running shoes with a grippy outsole.",
    "TEE-1": "Organic cotton t-shirt: soft crew-neck tee made from organic cotton.",
}
QUERIES = {"KETTLE-1": "something to boil water", "TENT-1": "shelter for a night outdoors",
           "SHOE-1": "footwear for jogging on trails", "TEE-1": "a soft cotton top"}


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory):
    """A cross-encoder fine-tuned for a few steps from the packaged MiniLM on (query, passage,
    relevant?) pairs, saved as a folder a user would pass to --rerank."""
    import torch

    from tunelab.models.encoders import load_encoder_classifier
    from tunelab.models.packaged import minilm_dir

    torch.manual_seed(0)
    clf = load_encoder_classifier(minilm_dir(), ["irrelevant", "relevant"])
    pairs = [(QUERIES[q], PASSAGES[p], int(q == p)) for q in QUERIES for p in PASSAGES]
    batch = clf.tokenizer([q for q, _, _ in pairs], [p for _, p, _ in pairs], padding=True, return_tensors="pt")
    labels = torch.tensor([y for *_, y in pairs])
    optimizer = torch.optim.AdamW(clf.model.parameters(), lr=1e-4)
    clf.model.train()
    for _ in range(12):
        clf.model(**batch, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    folder = tmp_path_factory.mktemp("cross-encoder") / "minilm-ce"
    clf.model.save_pretrained(folder)
    clf.tokenizer.save_pretrained(folder)
    return folder


def test_rerank_puts_the_relevant_passage_first(cross_encoder_dir):
    reranker = load_reranker(str(cross_encoder_dir))
    for relevant, query in QUERIES.items():
        candidates = [Hit(i, PASSAGES[i], score=1.0 - n / 10, meta={"source": i})  # the relevant one last
                      for n, i in enumerate(sorted(PASSAGES, key=lambda i: i == relevant))]
        reranked = rerank(query, candidates, reranker)
        assert reranked[0].id == relevant, (query, [(h.id, h.score) for h in reranked])
        assert reranked[0].meta["retrieval_score"] == pytest.approx(0.7)
        assert [h.score for h in reranked] == sorted((h.score for h in reranked), reverse=True)


def test_search_with_a_reranker(shop, embedder, cross_encoder_dir):  # noqa: F811
    searcher = Searcher.open("shop", settings=shop[0], store=shop[1], embedder=embedder)
    found = searcher.search("something to boil water", mode="hybrid", k=3, reranker=load_reranker(str(cross_encoder_dir)))
    assert found[0].doc_id == "KETTLE-1" and len(found) == 3
