"""`tunelab eval --task retrieval` on a small collection cut from the sample catalogue (the relevant
products of a dozen shipped test questions plus distractors, embedded by the packaged MiniLM): modes
as columns, every number recomputed here from the per-example rankings with formulas written out in
this file, rankings equal to the searcher's own, the report written by the shared runner, bad
configs refused, and faithfulness judged with hosted models (fake servers on loopback)."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from cross_encoder_support import save_cross_encoder
from fake_chat_server import FakeChatServer
from rag_support import embedder, one_torch_thread  # noqa: F401 - fixtures

from tunelab.eval.config import EvalConfig
from tunelab.eval.faithfulness import NO_CITATION, FaithfulnessItem, faithfulness_metrics, judge_faithfulness
from tunelab.eval.judge import Verdict
from tunelab.eval.retrieval import columns_for, run_retrieval_eval
from tunelab.rag import FieldMapping, Searcher, doc_ranking, ingest
from tunelab.rag.answer import CitedAnswer, SourceRef
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.tasks.ecommerce.datasets import CATALOGUE_MAPPING, sample_path

N_QUESTIONS = 12  # in the collection's question file
LIMIT = 3  # questions scored where the cross-encoder reranks (40 candidates, ~2 s each on one busy thread)


@pytest.fixture(scope="module")
def mini(tmp_path_factory, embedder):  # noqa: F811
    root = tmp_path_factory.mktemp("eval-retrieval")
    rows = [json.loads(line) for line in sample_path("retrieval").read_text().splitlines()]
    chosen = [r for r in rows if r["split"] == "test"][:N_QUESTIONS]
    products = [json.loads(line) for line in sample_path("products").read_text().splitlines()]
    wanted = {pid for r in chosen for pid in r["relevant"]}
    keep = [p for p in products if p["id"] in wanted] + [p for p in products if p["id"] not in wanted][:40]
    (root / "catalogue.jsonl").write_text("".join(json.dumps(p) + "\n" for p in keep))
    (root / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chosen))
    settings = Settings(home=root / "home", hub_offline=True)
    store = Store(settings)
    ingest([root / "catalogue.jsonl"], "mini", settings=settings, store=store, embedder=embedder,
           mapping=FieldMapping.parse(CATALOGUE_MAPPING), progress=False)
    yield settings, store, root, chosen
    store.dispose()


def config(root, **kw) -> EvalConfig:
    return EvalConfig(**{"task": "retrieval", "collection": "mini", "data": str(root / "questions.jsonl"),
                         "split": "test", **kw})


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=300))


# --- the metrics, written out independently of tunelab.eval.metrics -----------------------------------

def recall(ranking, relevant, k):
    return len(set(ranking[:k]) & set(relevant)) / len(relevant)


def reciprocal_rank(ranking, relevant):
    return next((1 / (i + 1) for i, d in enumerate(ranking[:10]) if d in relevant), 0.0)


def ndcg10(ranking, relevant):
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranking[:10]) if d in relevant)
    return dcg / sum(1 / math.log2(i + 2) for i in range(min(len(relevant), 10)))


def assert_recomputed(result) -> None:
    """Every column's metrics (and each example's MRR) equal the formulas above over its rankings."""
    n = len(result.examples)
    for column in result.models:
        rankings = [e["outputs"][column]["ranking"] for e in result.examples]
        refs = [e["reference"] for e in result.examples]
        assert all(len(r) == len(set(r)) <= 10 for r in rankings)
        expected = {
            "recall@1": sum(recall(r, g, 1) for r, g in zip(rankings, refs)) / n,
            "recall@5": sum(recall(r, g, 5) for r, g in zip(rankings, refs)) / n,
            "recall@10": sum(recall(r, g, 10) for r, g in zip(rankings, refs)) / n,
            "mrr": sum(reciprocal_rank(r, g) for r, g in zip(rankings, refs)) / n,
            "ndcg@10": sum(ndcg10(r, g) for r, g in zip(rankings, refs)) / n,
        }
        assert result.metrics[column] == pytest.approx(expected), column
        for e, r, g in zip(result.examples, rankings, refs):
            assert e["scores"][column]["mrr"] == pytest.approx(reciprocal_rank(r, g))


def test_modes_side_by_side_and_every_number_recomputed(mini, embedder, tmp_path):  # noqa: F811
    settings, store, root, chosen = mini
    reranker_dir = save_cross_encoder(tmp_path / "ce")  # untrained head: here only the mechanics count
    seen = []
    result = run(run_retrieval_eval(config(root, limit=LIMIT, rerank=str(reranker_dir)), settings, store,
                                    progress=lambda d, t: seen.append((d, t)), embedder=embedder))
    assert result.task == "retrieval" and result.split == "test"
    assert result.models == ["bm25", "dense", "hybrid", "hybrid+rerank"] and result.baseline == "bm25"
    assert result.params["reranker"] == str(reranker_dir.resolve())
    assert result.metric_names() == ["recall@1", "recall@5", "recall@10", "mrr", "ndcg@10"]
    assert [e["id"] for e in result.examples] == [r["qid"] for r in chosen[:LIMIT]]
    assert seen[0] == (0, 4 * LIMIT) and seen[-1] == (4 * LIMIT, 4 * LIMIT)
    assert_recomputed(result)

    searcher = Searcher.open("mini", settings=settings, store=store, embedder=embedder)
    for e in result.examples[:3]:  # the rankings are the searcher's own
        for mode in ("bm25", "dense", "hybrid"):
            assert e["outputs"][mode]["ranking"] == doc_ranking(searcher.search(e["input"], mode=mode, k=40))[:10]
        reranked = e["outputs"]["hybrid+rerank"]["ranking"]  # hybrid's candidates, in another order
        assert reranked and set(reranked) <= set(doc_ranking(searcher.search(e["input"], k=40)))


def test_the_shared_runner_writes_the_report(mini, home, tmp_path):
    from tunelab.eval.runner import run_eval

    settings, store, root, _ = mini
    out = tmp_path / "report"
    result = run(run_eval(config(root, out=str(out)), settings, store))
    assert result.models == ["bm25", "dense", "hybrid"] and len(result.examples) == N_QUESTIONS and result.run_id
    assert_recomputed(result)
    assert result.metrics["hybrid"]["recall@10"] >= 0.6  # retrieval works on this collection at all
    saved = json.loads((out / "report.json").read_text())
    assert saved["metrics"] == json.loads(json.dumps(result.metrics))
    assert (out / "report.html").is_file() and len((out / "examples.jsonl").read_text().splitlines()) == N_QUESTIONS
    assert saved["params"]["collection"] == "mini"


def test_bad_configs_are_refused(mini):
    settings, store, root, _ = mini
    assert columns_for(["bm25", "dense+rerank"], True) == ["bm25", "dense+rerank"]
    with pytest.raises(ValueError, match="'fuzzy' is not a search mode"):
        columns_for(["fuzzy"], False)
    with pytest.raises(ValueError, match="needs a cross-encoder"):
        columns_for(["hybrid+rerank"], False)
    with pytest.raises(ValueError, match="needs --judge"):
        run(run_retrieval_eval(config(root, models=["tiny"]), settings, store))
    with pytest.raises(ValueError, match="has no records of split 'train'"):
        run(run_retrieval_eval(config(root, split="train"), settings, store))


def _answer(answerable: bool, citations: list[int]) -> CitedAnswer:
    sources = [SourceRef(i, f"P{i}", f"c{i}", f"cat#P{i}", None, f"text {i}", 1.0, f"text {i}") for i in (1, 2)]
    return CitedAnswer("q?", "It is red [1]." if answerable else "The sources do not contain the answer.",
                       answerable, [sources[i - 1] for i in citations], sources)


def test_faithfulness_counts_and_the_judges_input(mini):
    # not judged: declined; uncited: unsupported without asking (the judge here could not answer anyway)
    assert run(judge_faithfulness(_answer(False, []), judge=None)) is None
    assert run(judge_faithfulness(_answer(True, []), judge=None)) == Verdict(1, NO_CITATION, "")
    items = [FaithfulnessItem("a", _answer(True, [1]), Verdict(5, "", "")),
             FaithfulnessItem("b", _answer(True, [1]), Verdict(2, "", "")),
             FaithfulnessItem("c", _answer(True, [1]), Verdict(None, "", "x", "bad")),
             FaithfulnessItem("d", _answer(False, []), None),
             FaithfulnessItem("e", None, None, "upstream down")]
    assert faithfulness_metrics(items) == {"faithfulness": 0.5, "faithfulness_judge": 3.5,
                                           "faithfulness_invalid": 1.0, "answered": 0.75}


def test_faithfulness_with_hosted_answerer_and_judge(mini, embedder):  # noqa: F811
    """The answerer cites source 1; the judge grades 5 when the cited text names the product the
    question was written from, else 2: faithfulness is then the share of questions whose top
    source is that product."""
    settings, store, root, chosen = mini
    titles = {p["id"]: p["title"] for p in map(json.loads, sample_path("products").read_text().splitlines())}
    product_of = {r["question"]: titles[r["product"]] for r in chosen}  # the cited text holds titles, not ids

    def respond(body):
        user = body["messages"][-1]["content"]
        if user.startswith("[QA]"):
            return json.dumps({"answerable": True, "answer": "Yes [1].", "citations": [1]})
        question = user.split("Task input:\nQuestion: ", 1)[1].split("\n\nReference:")[0]
        reference = user.split("Reference:\n", 1)[1].split("\n\nCandidate output:")[0]
        return json.dumps({"score": 5 if reference.startswith("[1] " + product_of[question]) else 2,
                           "reason": "checked"})

    with FakeChatServer(respond) as server:
        spec = server.register(store, "hosted")
        cfg = config(root, models=[spec], judge={"model": spec}, modes=["hybrid"], limit=6)
        result = run(run_retrieval_eval(cfg, settings, store, embedder=embedder))
    metrics = result.metrics["hybrid"]
    top_is_it = [e["outputs"]["hybrid"]["answer"]["answer"]["sources"][0]["title"] == product_of[e["input"]]
                 for e in result.examples]
    assert metrics["faithfulness"] == pytest.approx(sum(top_is_it) / 6)
    assert metrics["answered"] == 1.0 and metrics["faithfulness_invalid"] == 0.0
    assert [e["scores"]["hybrid"]["faithfulness"] for e in result.examples] == [float(t) for t in top_is_it]
    assert result.params["answer_model"] == spec and result.params["answer_column"] == "hybrid"
    assert len(server.requests) == 12  # six answers, six verdicts


@pytest.mark.slow  # embeds the whole sample catalogue (504 products) once: tens of seconds on one thread
def test_without_a_collection_the_sample_catalogue_is_ingested_once(home, settings, store, embedder):  # noqa: F811
    from rag_support import CountingEmbedder

    from tunelab.eval.retrieval import SAMPLE_COLLECTION, ensure_sample_collection

    cfg = EvalConfig(task="retrieval", split="test", modes=["bm25", "hybrid"])  # no collection: the sample's
    counting = CountingEmbedder(embedder)
    result = run(run_retrieval_eval(cfg, settings, store, embedder=counting))
    assert result.params["collection"] == SAMPLE_COLLECTION and len(result.examples) >= 40
    assert len(counting.texts) == 504 + len(result.examples)  # every product, then one query per question
    assert result.metrics["hybrid"]["recall@10"] >= 0.9
    assert_recomputed(result)
    counting.reset()
    ensure_sample_collection(settings, store, embedder=counting)  # again: every product unchanged
    assert counting.texts == []
    searcher = Searcher.open(SAMPLE_COLLECTION, settings=settings, store=store, embedder=embedder)
    assert searcher.search("Pawford dog bed", mode="bm25", k=1)[0].meta["brand"] == "Pawford"
