"""classify on the tiny model through a real batching engine: always a taxonomy id and its full path,
top-k sorted, likelihood scores equal to a softmax of the model's own log-likelihoods (or of their
per-token means), the constrained path among the candidates, the knn and BM25 candidates ranked with
the embedding ones; the upstream-like fallbacks; errors that name the record."""

from __future__ import annotations

import math

import pytest
import torch
from ecommerce_task_helpers import (
    HashEmbedder,
    IgnoresConstraintModel,
    NoScoreModel,
    engine_model,
    run,
    small_taxonomy,
)

from tunelab.tasks.ecommerce.candidates import Budget, CandidateRetriever
from tunelab.tasks.ecommerce.category_bm25 import CategoryBM25
from tunelab.tasks.ecommerce.category_index import CategoryIndex
from tunelab.tasks.ecommerce.classify import (
    BM25_WEIGHT,
    COSINE_WEIGHT,
    Classification,
    classify,
    classify_many,
    parse_path,
    path_constraint,
    resolve_ranking,
)
from tunelab.tasks.ecommerce.datasets.records import Product
from tunelab.tasks.ecommerce.neighbours import ProductNeighbours
from tunelab.tasks.ecommerce.prompts import classify_messages
from tunelab.tasks.ecommerce.taxonomy import Taxonomy

TEXTS = ["Orthopedic dog beds, large, washable cover", "Wireless headphones with noise cancelling",
         "Stainless steel water bottles, 750 ml", "Men's running shoes, breathable mesh, size 42",
         "Kitchen knife set with wooden block", "Organic green tea, 100 bags"]


@pytest.fixture(scope="module")
def google():
    taxonomy = Taxonomy.load()
    return taxonomy, CategoryIndex(taxonomy, HashEmbedder())


@pytest.fixture
def small():
    taxonomy = small_taxonomy()
    return taxonomy, CategoryIndex(taxonomy, HashEmbedder())


def check_valid(c: Classification, taxonomy: Taxonomy, k: int) -> None:
    assert c.id in taxonomy and c.path == taxonomy.path(c.id)
    assert (c.id, c.path, c.score) == (c.top_k[0].id, c.top_k[0].path, c.top_k[0].score)
    assert len(c.top_k) <= k and len({s.id for s in c.top_k}) == len(c.top_k)
    assert all(s.path == taxonomy.path(s.id) for s in c.top_k)
    scores = [s.score for s in c.top_k]
    assert scores == sorted(scores, reverse=True)


def reference_logp(loaded, messages: list[dict], option: str, model_cls=NoScoreModel) -> float:
    """log P(option as the whole reply), end-of-turn token included, by one plain forward pass."""
    tm = model_cls(None, loaded)
    prompt_text = loaded.chat_prompt(messages)
    prompt = loaded.tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    opt = tm.option_ids(messages, prompt_text, option)
    with torch.inference_mode():
        logits = loaded.model(torch.tensor([prompt + opt])).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    return float(sum(logp[len(prompt) + i - 1, t] for i, t in enumerate(opt)))


def test_likelihood_scores_are_a_softmax_over_every_candidate(tiny, small):
    taxonomy, index = small

    async def go():
        async with engine_model(tiny) as model:
            return await classify(model, TEXTS[0], taxonomy=taxonomy, index=index, k=50, candidates=6,
                                  ranking="likelihood")

    c = run(go())
    check_valid(c, taxonomy, 50)
    assert c.method == "likelihood" and 6 <= len(c.top_k) <= 7  # 6 retrieved, plus the written path if new
    assert math.isclose(sum(s.score for s in c.top_k), 1.0, abs_tol=1e-6)
    messages = classify_messages(TEXTS[0])
    logps = [reference_logp(tiny, messages, s.path) for s in c.top_k]
    top = max(logps)
    probs = [math.exp(lp - top) for lp in logps]
    assert [s.score for s in c.top_k] == pytest.approx([p / sum(probs) for p in probs], abs=1e-4)
    retrieved = {i for i, _ in index.search(TEXTS[0], 6)}
    assert retrieved <= {s.id for s in c.top_k}


def test_the_written_path_is_a_candidate_even_when_retrieval_misses_it(tiny, google):
    taxonomy, index = google
    constraint = path_constraint(taxonomy)
    assert path_constraint(taxonomy) is constraint and len(constraint.choices) == len(taxonomy) == 5595

    async def go():
        async with engine_model(tiny) as model:
            written = [await model.complete(classify_messages(t), max_tokens=64, constraint=constraint)
                       for t in TEXTS[:2]]
            results = await classify_many(model, TEXTS[:2], taxonomy=taxonomy, index=index, k=10, candidates=1,
                                          generate=True)
            plain = await classify_many(model, TEXTS[:2], taxonomy=taxonomy, index=index, k=10, candidates=1)
            return written, results, plain

    written, results, plain = run(go())
    for text, path, c in zip(TEXTS, written, results):
        assert path in constraint.choices  # constrained: a whole taxonomy path, whatever the random model prefers
        check_valid(c, taxonomy, 10)
        retrieved = index.search(text, 1)[0][0]
        assert {s.id for s in c.top_k} == {retrieved, taxonomy.id_for_path(path)}
        assert math.isclose(sum(s.score for s in c.top_k), 1.0, abs_tol=1e-6)
    assert any(len(c.top_k) == 2 for c in results)  # retrieval's one candidate was not the written path
    # without generate, retrieval alone gives the candidates
    assert all([s.id for s in c.top_k] == [index.search(t, 1)[0][0]] for t, c in zip(TEXTS, plain))


def test_classify_many_keeps_order_matches_one_by_one_and_batches(tiny, small):
    taxonomy, index = small

    async def go():
        async with engine_model(tiny) as model:
            many = await classify_many(model, TEXTS, taxonomy=taxonomy, index=index, k=3, candidates=5, generate=True)
            one = [await classify(model, t, taxonomy=taxonomy, index=index, k=3, candidates=5, generate=True)
                       for t in TEXTS[:2]]
            return many, one, model.engine.peak_running

    many, one, peak = run(go())
    assert len(many) == len(TEXTS) and peak > 1  # concurrent requests shared decode steps
    for c in many:
        check_valid(c, taxonomy, 3)
        assert len(c.top_k) == 3
    for a, b in zip(many, one):
        assert [s.id for s in a.top_k] == [s.id for s in b.top_k]
        assert [s.score for s in a.top_k] == pytest.approx([s.score for s in b.top_k], abs=1e-4)


def test_without_scores_the_constrained_path_leads_then_retrieval(tiny, small):
    taxonomy, index = small

    async def go():
        async with engine_model(tiny, NoScoreModel) as model:
            written = await model.complete(classify_messages(TEXTS[1]), constraint=path_constraint(taxonomy))
            c = await classify(model, TEXTS[1], taxonomy=taxonomy, index=index, k=4, candidates=4)
            return written, c

    written, c = run(go())
    check_valid(c, taxonomy, 4)
    assert c.method == "constrained+retrieval" and c.path == written and c.score == 1.0
    cosine = dict(index.search(TEXTS[1], 4))
    rest = c.top_k[1:]
    assert [s.id for s in rest] == [i for i in cosine if i != c.id][:3]
    assert [s.score for s in rest] == pytest.approx([cosine[s.id] for s in rest])


def test_an_upstream_that_ignores_the_constraint_still_gets_a_valid_category(tiny, small):
    taxonomy, index = small

    async def go():
        async with engine_model(tiny, IgnoresConstraintModel) as model:
            return await classify(model, TEXTS[2], taxonomy=taxonomy, index=index, k=3, candidates=3)

    c = run(go())
    check_valid(c, taxonomy, 3)
    assert c.method == "retrieval"  # the random model's free text is no taxonomy path
    expected = index.search(TEXTS[2], 3)
    assert [s.id for s in c.top_k] == [i for i, _ in expected]
    assert [s.score for s in c.top_k] == pytest.approx([v for _, v in expected])


def test_parse_path_forgives_what_an_unconstrained_model_adds(small):
    taxonomy, _ = small
    assert parse_path(taxonomy, "Apparel & Accessories > Shoes") == 7
    assert parse_path(taxonomy, ' "apparel & accessories>shoes." \n') == 7
    assert parse_path(taxonomy, "Shoes") is None and parse_path(taxonomy, "") is None


def test_bad_input_names_the_record(tiny, small, google):
    taxonomy, index = small

    async def go(**kw):
        async with engine_model(tiny) as model:
            return await classify(model, taxonomy=taxonomy, index=index, **kw)

    with pytest.raises(ValueError, match="record 'sku-9'"):
        run(go(text="   \n", record_id="sku-9"))
    with pytest.raises(ValueError, match="index was built over"):  # the Google index, the small taxonomy
        run(_other_index(tiny, taxonomy, google[1]))
    with pytest.raises(ValueError, match="at least 1"):
        run(go(text="shoes", k=0))

    async def many():
        async with engine_model(tiny) as model:
            return await classify_many(model, ["shoes", ""], taxonomy=taxonomy, index=index, record_ids=["a", "b"])

    with pytest.raises(ValueError, match="record 'b'"):
        run(many())


async def _other_index(tiny, taxonomy, index):
    async with engine_model(tiny) as model:
        return await classify(model, "shoes", taxonomy=taxonomy, index=index)


def test_knn_and_bm25_candidates_are_ranked_with_the_embedding_ones(tiny, small):
    taxonomy, index = small
    catalogue = [Product(id=f"c{i}", title=t, category_id=c) for i, (t, c) in enumerate(
        [("Memory foam dog bed", 4), ("Running shoes, mesh", 7), ("Chef knife with sheath", 12),
         ("Insulated water bottle", 14), ("Bluetooth headphones", 17)])]
    retriever = CandidateRetriever(index, neighbours=ProductNeighbours(catalogue, index.embedder, neighbours=2),
                                   bm25=CategoryBM25(taxonomy, aliases={}))
    budget = Budget(embedding=2, knn=2, bm25=2)

    async def go():
        async with engine_model(tiny) as model:
            return await classify_many(model, TEXTS[:3], taxonomy=taxonomy, index=retriever, k=50, candidates=2,
                                       knn_candidates=2, bm25_candidates=2, ranking="likelihood")

    found = retriever.gather_many(TEXTS[:3], budget)
    for c, f in zip(run(go()), found):
        check_valid(c, taxonomy, 50)
        assert c.method == "likelihood" and math.isclose(sum(s.score for s in c.top_k), 1.0, abs_tol=1e-6)
        assert c.candidates == {**f.sources, "union": f.ids} and set(f.sources) == {"embedding", "knn", "bm25"}
        assert sorted(s.id for s in c.top_k) == sorted(f.ids)  # every candidate of every source was ranked
    assert any(set(f.sources["knn"]) - set(f.sources["embedding"]) for f in found)  # knn added a category


def test_length_normalized_ranks_by_the_mean_log_likelihood_per_token(tiny, small):
    taxonomy, index = small

    async def go():
        async with engine_model(tiny) as model:
            return await classify(model, TEXTS[3], taxonomy=taxonomy, index=index, k=50, candidates=6,
                                  length_normalized=True)

    c = run(go())
    check_valid(c, taxonomy, 50)
    assert c.method == "mean-likelihood" and c.candidates["union"] == [i for i, _ in index.search(TEXTS[3], 6)]
    messages = classify_messages(TEXTS[3])
    prompt_text = tiny.chat_prompt(messages)
    means = [reference_logp(tiny, messages, s.path) / len(NoScoreModel(None, tiny).option_ids(messages, prompt_text,
                                                                                            s.path))
             for s in c.top_k]
    probs = [math.exp(m - max(means)) for m in means]
    assert [s.score for s in c.top_k] == pytest.approx([p / sum(probs) for p in probs], abs=1e-4)


def mean_logp(loaded, messages: list[dict], path: str) -> float:
    prompt_text = loaded.chat_prompt(messages)
    return reference_logp(loaded, messages, path) / len(NoScoreModel(None, loaded).option_ids(messages, prompt_text, path))


def test_hybrid_ranking_adds_the_retrieval_evidence_to_the_mean_log_likelihood(tiny, small):
    """The default: softmax over mean log-likelihood + COSINE_WEIGHT * cosine + BM25_WEIGHT / (1 + BM25 rank),
    recomputed here from a plain forward pass and the retriever's own lists."""
    taxonomy, index = small
    retriever = CandidateRetriever(index, bm25=CategoryBM25(taxonomy, aliases={}))
    budget = Budget(embedding=4, bm25=3)

    async def go():
        async with engine_model(tiny) as model:
            return await classify_many(model, TEXTS[:3], taxonomy=taxonomy, index=retriever, k=50, candidates=4,
                                       bm25_candidates=3)

    for text, c, f in zip(TEXTS, run(go()), retriever.gather_many(TEXTS[:3], budget)):
        check_valid(c, taxonomy, 50)
        assert c.method == "hybrid" and math.isclose(sum(s.score for s in c.top_k), 1.0, abs_tol=1e-6)
        messages = classify_messages(text)
        bm25 = f.sources["bm25"]
        fused = {cid: mean_logp(tiny, messages, taxonomy.path(cid)) + COSINE_WEIGHT * f.cosine[cid]
                 + (BM25_WEIGHT / (1 + bm25.index(cid)) if cid in bm25 else 0.0) for cid in f.ids}
        top = max(fused.values())
        total = sum(math.exp(v - top) for v in fused.values())
        assert {s.id: s.score for s in c.top_k} == pytest.approx({cid: math.exp(v - top) / total
                                                                  for cid, v in fused.items()}, abs=1e-4)


def test_ranking_names_are_checked_and_length_normalized_still_means_mean_likelihood():
    assert resolve_ranking(None) == "hybrid" and resolve_ranking(None, length_normalized=True) == "mean-likelihood"
    assert resolve_ranking("likelihood", length_normalized=True) == "likelihood"
    with pytest.raises(ValueError, match="ranking must be one of hybrid, likelihood, mean-likelihood"):
        resolve_ranking("cosine")
