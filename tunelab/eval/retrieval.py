"""`tunelab eval --task retrieval`: how well a collection's search finds the relevant documents of
labelled questions, search modes side by side as the compared columns, in the shape of every eval.

Questions: `config.data` (JSONL rows {qid, question, relevant: [doc ids], split}) or the sample's
retrieval.jsonl; `config.split` and `config.limit` select them. Collection: `config.collection`, or
the sample catalogue ingested into `SAMPLE_COLLECTION` (the first run embeds it; later runs find every
product unchanged by its content hash). Columns: `config.modes` (dense, bm25, hybrid; the first is the
baseline), plus `hybrid+rerank` when a cross-encoder is configured (`config.rerank`, or `reranker=`);
a mode `M+rerank` reranks mode M's candidates. Metrics per column, from each question's top 10
documents (`evaluate_retrieval` below: the search's chunks merged per document):
recall@1/5/10 (and recall@k for `config.k`), mrr (MRR@10), ndcg@10 (`tunelab.eval.metrics.retrieval`).
Each example holds every column's ranking, so the numbers can be recomputed from the report.

With `config.models` (one answering model) and `config.judge`, each question is also answered over the
last column's retrieval and judged for faithfulness to its cited sources (`tunelab.eval.faithfulness`);
those metrics sit in that column."""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio

from tunelab.eval.metrics.retrieval import mrr, ndcg_at_k, recall_at_k
from tunelab.eval.progress import ProgressFn
from tunelab.eval.results import EvalResult
from tunelab.eval.tasks import select_split
from tunelab.models.torch_threads import run_torch
from tunelab.rag import FieldMapping, ingest, load_reranker
from tunelab.rag.search import MODES, Searcher, doc_ranking
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.tasks.ecommerce.datasets import CATALOGUE_MAPPING, load_retrieval, sample_path

SAMPLE_COLLECTION = "sample"
RERANK = "+rerank"
DEPTH = 10  # documents kept per question: the largest cutoff
BATCH = 8  # questions searched per call of evaluate_retrieval (progress moves between calls)


@dataclass
class RetrievalScores:
    k: int
    mode: str
    recall: float
    mrr: float
    ndcg: float
    rankings: list[list[str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {f"recall@{self.k}": self.recall, "mrr": self.mrr, f"ndcg@{self.k}": self.ndcg, "mode": self.mode}


def evaluate_retrieval(searcher: Searcher, queries: Sequence[str],
                       relevant: Sequence[Iterable[Hashable] | Mapping[Hashable, float]], *, k: int = 10,
                       mode: str = "hybrid", **search_kwargs: Any) -> RetrievalScores:
    """Recall@k, MRR and nDCG@k of a collection on labelled queries. Searches each query (top `k`
    documents; more chunks are fetched so that k documents remain after chunks of one document are
    merged) and scores the rankings against `relevant` (catalogue record ids or document sources,
    see `Hit.doc_id`)."""
    if len(queries) != len(relevant):
        raise ValueError(f"{len(queries)} queries but {len(relevant)} relevance sets; give one per query.")
    rankings = [doc_ranking(searcher.search(q, mode=mode, k=4 * k, **search_kwargs))[:k] for q in queries]
    rel = list(relevant)
    return RetrievalScores(k=k, mode=mode, recall=recall_at_k(rankings, rel, k), mrr=mrr(rankings, rel, k),
                           ndcg=ndcg_at_k(rankings, rel, k), rankings=rankings)


def ensure_sample_collection(settings: Settings, store: Store, name: str = SAMPLE_COLLECTION, *,
                             embedder: Any = None) -> str:
    """Ingest the packaged sample catalogue into collection `name` (doc id = product id; category,
    brand and price as filterable metadata) and return `name`. Cheap when it is already there: every
    product is found unchanged by its content hash and nothing is embedded."""
    ingest([sample_path("products")], name, settings=settings, store=store, embedder=embedder,
           mapping=FieldMapping.parse(CATALOGUE_MAPPING), progress=False)
    return name


def columns_for(modes: list[str], rerank: bool) -> list[str]:
    """The compared columns: `modes` as given, plus hybrid+rerank when reranking is configured and no
    mode asks for it. Unknown modes, and +rerank without a cross-encoder, are refused."""
    if not modes:
        raise ValueError("retrieval eval needs at least one mode: dense, bm25, hybrid (or one of them +rerank).")
    for mode in modes:
        base = mode.removesuffix(RERANK)
        if base not in MODES:
            raise ValueError(f"modes: {mode!r} is not a search mode; use {', '.join(MODES)}, or one of them "
                             f"followed by {RERANK} (e.g. hybrid{RERANK}).")
        if mode.endswith(RERANK) and not rerank:
            raise ValueError(f"modes: {mode!r} needs a cross-encoder: set `rerank` to its folder "
                             "(see docs/rag.md, 'Reranking').")
    if len(set(modes)) != len(modes):
        raise ValueError(f"modes: {', '.join(modes)} names a mode twice.")
    out = list(modes)
    if rerank and not any(m.endswith(RERANK) for m in out):
        out.append(f"hybrid{RERANK}")
    return out


def cutoffs(config: Any) -> list[int]:
    return sorted({1, 5, DEPTH, min(config.k, DEPTH)})


def metric_names(config: Any) -> list[str]:
    return [f"recall@{c}" for c in cutoffs(config)] + ["mrr", f"ndcg@{DEPTH}"]


def score_rankings(rankings: list[list[str]], relevant: list[list[str]], ks: list[int]) -> dict[str, float]:
    """The run's metrics over per-question document rankings (best first)."""
    out = {f"recall@{c}": recall_at_k(rankings, relevant, c) for c in ks}
    out["mrr"] = mrr(rankings, relevant, DEPTH)
    out[f"ndcg@{DEPTH}"] = ndcg_at_k(rankings, relevant, DEPTH)
    return out


def load_questions(config: Any) -> tuple[list[Any], str]:
    """The selected questions and where they came from."""
    source = config.data or str(sample_path("retrieval"))
    questions = load_retrieval(source)
    chosen = select_split(questions, config.split, config.limit, source)
    seen: set[str] = set()
    for q in chosen:
        if q.qid in seen:
            raise ValueError(f"{source}: qid {q.qid!r} occurs twice; every question needs its own id.")
        seen.add(q.qid)
    return chosen, source


def _search_all(searcher: Searcher, questions: list[Any], column: str, reranker: Any,
                tick: ProgressFn | None) -> list[list[str]]:
    """Top-DEPTH document rankings of every question in one column (runs in a worker thread)."""
    mode = column.removesuffix(RERANK)
    rankings: list[list[str]] = []
    for start in range(0, len(questions), BATCH):
        part = questions[start:start + BATCH]
        scores = evaluate_retrieval(searcher, [q.question for q in part], [q.relevant for q in part], k=DEPTH,
                                    mode=mode, reranker=reranker if column.endswith(RERANK) else None)
        rankings += scores.rankings
        if tick is not None:
            anyio.from_thread.run_sync(tick, len(part))
    return rankings


async def run_retrieval_eval(config: Any, settings: Settings, store: Store, progress: ProgressFn | None = None,
                             *, reranker: Any = None, embedder: Any = None) -> EvalResult:
    """Score every column on the selected questions (and faithfulness, with models and a judge)."""
    started = time.monotonic()
    questions, source = load_questions(config)
    if reranker is None and config.rerank:
        reranker = await run_torch(load_reranker, config.rerank)
    columns = columns_for(list(config.modes), reranker is not None)
    models, judge = list(config.models), config.judge
    if models and judge is None:
        raise ValueError("retrieval eval: --model answers questions for the faithfulness check, which needs "
                         "--judge MODEL too (or leave the models out).")
    if judge is not None and len(models) != 1:
        raise ValueError(f"retrieval eval: faithfulness is judged for one answering model (--model); got "
                         f"{len(models)}{': ' + ', '.join(models) if models else ''}.")
    collection = config.collection
    if collection is None:
        collection = await run_torch(
            partial(ensure_sample_collection, settings, store, embedder=embedder))
    searcher = Searcher.open(collection, settings=settings, store=store, embedder=embedder)

    total = len(questions) * (len(columns) + (1 if judge is not None else 0))
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    tick(0)
    relevant = [q.relevant for q in questions]
    ks = cutoffs(config)
    rankings: dict[str, list[list[str]]] = {}
    for column in columns:
        rankings[column] = await anyio.to_thread.run_sync(  # _search_all ticks via anyio.from_thread
            partial(_search_all, searcher, questions, column, reranker, tick))
    metrics = {c: score_rankings(rankings[c], relevant, ks) for c in columns}
    examples = []
    for i, q in enumerate(questions):
        outputs, scores = {}, {}
        for c in columns:
            ranked = rankings[c][i]
            outputs[c] = {"text": ", ".join(ranked[:5]) or "(nothing found)", "ranking": ranked}
            scores[c] = score_rankings([ranked], [q.relevant], ks)
        examples.append({"id": q.qid, "input": q.question, "reference": list(q.relevant),
                         "reference_text": ", ".join(q.relevant), "outputs": outputs, "scores": scores})

    params: dict[str, Any] = {"collection": collection, "data": source, "columns": columns, "depth": DEPTH,
                              "reranker": getattr(reranker, "name", None) if reranker is not None else None}
    if judge is not None:
        params.update(await _faithfulness(config, settings, store, searcher, reranker, questions, columns[-1],
                                          metrics, examples, tick))
    return EvalResult(task="retrieval", split=config.split, models=columns, metrics=metrics, examples=examples,
                      params=params, duration_s=time.monotonic() - started)


async def _faithfulness(config: Any, settings: Settings, store: Store, searcher: Searcher, reranker: Any,
                        questions: list[Any], column: str, metrics: dict, examples: list[dict],
                        tick: ProgressFn) -> dict[str, Any]:
    """Answer over `column`'s retrieval, judge, and put the metrics and verdicts in that column."""
    # lazy: both import torch (rag.answer, the engines); a retrieval-only eval needs none
    from tunelab.eval.faithfulness import (  # lazy: torch is slow to import
        FAITHFULNESS_RUBRIC,
        evaluate_faithfulness,
        faithfulness_metrics,
    )
    from tunelab.tasks.local import open_task_models  # lazy: torch is slow to import

    judge = config.judge
    rubric = judge.rubric_text() or FAITHFULNESS_RUBRIC
    async with open_task_models([config.models[0], judge.model], settings, store) as (answerer, judge_model):
        items = await evaluate_faithfulness(
            [q.question for q in questions], searcher=searcher, answerer=answerer, judge=judge_model,
            mode=column.removesuffix(RERANK), reranker=reranker if column.endswith(RERANK) else None,
            rubric=rubric, max_tokens=judge.max_tokens, concurrency=config.concurrency, progress=tick)
    metrics[column].update(faithfulness_metrics(items))
    for row, item in zip(examples, items):
        row["outputs"][column]["answer"] = item.to_dict()
        if item.supported is not None:
            row["scores"][column]["faithfulness"] = item.supported
    errors = sum(1 for i in items if i.error)
    out = {"answer_model": config.models[0], "answer_column": column, "judge_model": judge.model,
           "judge_rubric": rubric}
    if errors:
        out["errors"] = {column: errors}
    return out

