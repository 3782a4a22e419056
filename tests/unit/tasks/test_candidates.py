"""The candidate sources of [CLASSIFY] beyond the path embedding: nearest labelled products voting with
their cosines (recomputed here with numpy), BM25 over category names and synonyms (plural folding,
aliases that really find what the path alone does not), and their union under per-source budgets."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ecommerce_task_helpers import HashEmbedder, small_taxonomy

from tunelab.data.errors import DatasetError
from tunelab.tasks.ecommerce.candidates import Budget, CandidateRetriever, retriever_for
from tunelab.tasks.ecommerce.category_aliases import ALIASES
from tunelab.tasks.ecommerce.category_bm25 import CategoryBM25, fold, words
from tunelab.tasks.ecommerce.category_index import CategoryIndex
from tunelab.tasks.ecommerce.datasets import load_sample_products, packaged_taxonomy
from tunelab.tasks.ecommerce.datasets.records import Product
from tunelab.tasks.ecommerce.neighbours import ProductNeighbours

CATALOGUE = [("p1", "Memory foam dog bed, large", 4), ("p2", "Washable dog bed with bolster", 4),
             ("p3", "Cat scratching post and tower", 5), ("p4", "Leather running shoes for men", 7),
             ("p5", "Trail running shoes, waterproof", 7), ("p6", "Cotton crew neck shirt", 9),
             ("p7", "Chef knife, 8 inch stainless steel", 12), ("p8", "Insulated steel water bottle", 14),
             ("p9", "Wireless headphones with noise cancelling", 17), ("p10", "Over-ear headphones, wired", 17)]
QUERIES = ["large dog bed with washable cover", "running shoes size 42", "steel bottle for water",
           "noise cancelling headphones", "knife set"]


def products() -> list[Product]:
    return [Product(id=i, title=t, category_id=c) for i, t, c in CATALOGUE]


def test_neighbours_vote_with_their_summed_cosines():
    emb = HashEmbedder()
    knn = ProductNeighbours(products(), emb, neighbours=4)
    got = knn.search_many(QUERIES, 3)
    vectors = emb.embed([p.text() for p in products()])
    labels = [c for _, _, c in CATALOGUE]
    for query, hits in zip(QUERIES, got):
        sims = vectors @ emb.embed([query])[0]
        nearest = np.argsort(-sims)[:4]
        votes: dict[int, float] = {}
        for j in nearest:
            votes[labels[j]] = votes.get(labels[j], 0.0) + float(sims[j])
        expected = sorted(votes.items(), key=lambda kv: -kv[1])[:3]
        assert [c for c, _ in hits] == [c for c, _ in expected]
        assert [v for _, v in hits] == pytest.approx([v for _, v in expected], abs=1e-5)
    # a product's own text votes first for its own category
    assert [h[0][0] for h in knn.search_many([t for _, t, _ in CATALOGUE], 1)] == labels
    assert knn.search_vectors(emb.embed(QUERIES), 3) == got
    assert len(knn) == 10 and knn.categories() == {4, 5, 7, 9, 12, 14, 17}


def test_neighbours_matrix_is_cached_by_embedder_and_catalogue(tmp_path):
    first = HashEmbedder()
    knn = ProductNeighbours(products(), first, cache_dir=tmp_path)
    assert first.calls == 10 and knn.cache_path.is_file()
    again = HashEmbedder()
    cached = ProductNeighbours(products(), again, cache_dir=tmp_path)
    assert again.calls == 0 and np.array_equal(cached.matrix, knn.matrix)
    fewer = ProductNeighbours(products()[:9], HashEmbedder(), cache_dir=tmp_path)
    assert fewer.cache_path != knn.cache_path and fewer.matrix.shape[0] == 9


def test_catalogue_errors_name_the_product_and_an_empty_default_finds_nothing(tmp_path):
    with pytest.raises(ValueError, match="'x1' .* has no category_id"):
        ProductNeighbours([Product(id="x1", title="a lamp")], HashEmbedder())
    with pytest.raises(ValueError, match="at least 1"):
        ProductNeighbours(products(), HashEmbedder(), neighbours=0)
    taxonomy = small_taxonomy()
    path = tmp_path / "catalogue.jsonl"
    path.write_text("".join(json.dumps({"id": i, "title": t, "category_id": c, "split": "test"}) + "\n"
                            for i, t, c in CATALOGUE))
    with pytest.raises(ValueError, match="no labelled product left"):  # no train split in it
        ProductNeighbours.from_file(path, taxonomy, HashEmbedder())
    assert len(ProductNeighbours.from_file(path, taxonomy, HashEmbedder(), split="test", exclude={"p1"})) == 9
    path.write_text(json.dumps({"id": "z", "title": "a lamp", "category_id": 999}) + "\n")
    with pytest.raises(DatasetError, match="999"):  # a label the taxonomy lacks
        ProductNeighbours.from_file(path, taxonomy, HashEmbedder())
    # the sample's products carry Google ids the small taxonomy lacks: the default catalogue is empty
    empty = ProductNeighbours.sample(HashEmbedder(), taxonomy=taxonomy)
    assert len(empty) == 0 and empty.search_many(QUERIES, 5) == [[] for _ in QUERIES]


def test_fold_gives_singular_and_plural_one_form():
    assert [fold(w) for w in ("batteries", "battery", "knives", "knife", "watches", "shoes", "Glass", "cactus")] == \
        ["battery", "battery", "knife", "knife", "watch", "shoe", "glass", "cactus"]
    assert words("Men's Running Shoes, 2-Pack!") == "man running shoe 2 pack"


def test_bm25_finds_categories_by_their_words_and_aliases():
    taxonomy = packaged_taxonomy()
    bm25 = CategoryBM25.for_taxonomy(taxonomy)
    assert CategoryBM25.for_taxonomy(taxonomy) is bm25 and len(bm25) == len(taxonomy)
    knives = taxonomy.id_for_path("Home & Garden > Kitchen & Dining > Kitchen Tools & Utensils > Kitchen Knives")
    hits = bm25.search("Kitchen knife", 5)  # 'knife' finds 'Knives'
    assert hits[0][0] == knives and knives in [c for c, _ in bm25.search("Stainless Steel Kitchen Knives", 5)]
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True) and all(s > 0 for _, s in hits)
    # aliases: listing words the paths never use
    plain = CategoryBM25(taxonomy, aliases={})
    for text, path in [("Portable 20000mAh Power Bank", "Electronics > Electronics Accessories > Power > Batteries"),
                       ("Mens leather sneakers", "Apparel & Accessories > Shoes"),
                       ("Bluetooth earbuds, 30h playtime", "Electronics > Audio > Audio Components > Headphones & Headsets")]:
        cid = taxonomy.id_for_path(path)
        assert cid in [c for c, _ in bm25.search(text, 5)], text
        assert cid not in [c for c, _ in plain.search(text, 10)], text
    # only the title (first line) is matched; a text with no known word finds nothing
    assert bm25.search("Kitchen knives\nGreat for dog beds and shoes", 5) == bm25.search("Kitchen knives", 5)
    assert bm25.search("zzqx", 5) == [] and bm25.search("the of and", 5) == []
    with pytest.raises(ValueError, match="at least 1"):
        bm25.search("knife", 0)


def test_every_alias_names_a_packaged_category_in_every_top_level():
    taxonomy = packaged_taxonomy()
    paths = {c.full_path for c in taxonomy}
    assert [p for p in ALIASES if p not in paths] == []
    assert {p.split(" > ")[0] for p in ALIASES} == {taxonomy.name(t) for t in taxonomy.top_level()}
    assert all(ALIASES[p].strip() for p in ALIASES)


@pytest.fixture
def retriever():
    taxonomy, emb = small_taxonomy(), HashEmbedder()
    index = CategoryIndex(taxonomy, emb)
    return CandidateRetriever(index, neighbours=ProductNeighbours(products(), emb, neighbours=3),
                              bm25=CategoryBM25(taxonomy, aliases={}))


def test_the_union_is_each_source_under_its_budget_deduplicated_in_order(retriever):
    found = retriever.gather_many(QUERIES, Budget(embedding=3, knn=2, bm25=2))
    embedding = retriever.index.search_many(QUERIES, 3)
    knn = retriever.neighbours().search_many(QUERIES, 2)
    bm25 = retriever.bm25().search_many(QUERIES, 2)
    sims = retriever.index.similarities(retriever.index.embedder.embed(QUERIES))
    column = {int(c): i for i, c in enumerate(retriever.index.ids)}
    for row, (f, e, k, b) in enumerate(zip(found, embedding, knn, bm25)):
        assert f.sources == {"embedding": [c for c, _ in e], "knn": [c for c, _ in k], "bm25": [c for c, _ in b]}
        merged = [c for c, _ in e + k + b]
        assert f.ids == list(dict.fromkeys(merged)) and len(set(f.ids)) == len(f.ids) <= 7
        assert f.cosine == pytest.approx({c: float(sims[row, column[c]]) for c in f.ids}, abs=1e-6)
    assert found[1].sources["knn"][0] == 7 and found[2].sources["knn"][0] == 14  # shoes, water bottles
    only_bm25 = retriever.gather_many(QUERIES[:1], Budget(embedding=0, bm25=3))[0]
    assert set(only_bm25.sources) == {"bm25"} and only_bm25.ids == only_bm25.sources["bm25"]
    assert retriever.gather_many([], Budget()) == []


def test_budgets_are_checked():
    assert Budget().used() == ["embedding"] and Budget(0, 1, 2).used() == ["knn", "bm25"]
    with pytest.raises(ValueError, match="all|Every candidate budget is 0"):
        Budget(0, 0, 0)
    with pytest.raises(ValueError, match="knn candidate budget"):
        Budget(knn=-1)


def test_one_retriever_per_index_with_the_default_catalogue_built_once(retriever):
    taxonomy = packaged_taxonomy()
    keep = {c.id for c in taxonomy if c.depth <= 2}
    small_google = type(taxonomy)([c for c in taxonomy if c.id in keep], taxonomy.version)
    index = CategoryIndex(small_google, HashEmbedder())
    r = retriever_for(index)
    assert retriever_for(index) is r and retriever_for(r) is r and retriever_for(retriever) is retriever
    knn = r.neighbours()
    assert r.neighbours() is knn and knn.source == "the sample's train split"
    # only the sample's train products whose category this two-level taxonomy has
    fitting = [p.id for p in load_sample_products("train") if p.category_id in keep]
    assert 0 < len(fitting) < 342 and knn.product_ids == fitting
    with pytest.raises(ValueError, match="lacks"):  # a given catalogue must fit the index's taxonomy
        CandidateRetriever(index, neighbours=ProductNeighbours(products(), HashEmbedder()))
