"""Retrieval quality of a collection on labelled queries: Recall@k, MRR and nDCG@k (the pure
functions in `tunelab.eval.metrics.retrieval`) over document rankings, one search per query.

A relevant id is a catalogue record's id or a document's source (see `Hit.doc_id`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable, Iterable, Mapping, Sequence

from tunelab.eval.metrics.retrieval import mrr, ndcg_at_k, recall_at_k
from tunelab.rag.search import Searcher, doc_ranking


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
    """Search each query (top `k` documents; more chunks are fetched so that k documents remain
    after chunks of one document are merged) and score the rankings against `relevant`."""
    if len(queries) != len(relevant):
        raise ValueError(f"{len(queries)} queries but {len(relevant)} relevance sets; give one per query.")
    rankings = [doc_ranking(searcher.search(q, mode=mode, k=4 * k, **search_kwargs))[:k] for q in queries]
    rel = list(relevant)
    return RetrievalScores(k=k, mode=mode, recall=recall_at_k(rankings, rel, k), mrr=mrr(rankings, rel, k),
                           ndcg=ndcg_at_k(rankings, rel, k), rankings=rankings)
