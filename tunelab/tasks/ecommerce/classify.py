"""[CLASSIFY]: a product text -> a Google Product Taxonomy category, always a real id and full path.

Candidates are the union of up to three sources (`tunelab.tasks.ecommerce.candidates`): the
`candidates` categories nearest by embedding (`CategoryIndex`), the labels of the nearest labelled
catalogue products (`knn_candidates`) and the categories whose names and synonyms match the title's
words (`bm25_candidates`); plus, with `generate`, the path the model writes under a choice
constraint over every taxonomy path (so a fine-tuned model reaches its category even when retrieval
misses it). Where the model can score replies (a local engine), each candidate's path is scored as
the whole reply, and `ranking` says how the scores become the ranking (a softmax over the candidates:
probabilities summing to 1):
- "hybrid" (the default): each path's per-token mean log-likelihood plus what retrieval says of it,
  on the same scale: COSINE_WEIGHT times its cosine with the text, BM25_WEIGHT / (1 + its rank among
  the BM25 hits) and KNN_WEIGHT / (1 + its rank among the nearest products' labels). A small model
  alone ranks real listings poorly (it prefers paths that read well over paths that fit) and retrieval
  alone puts the right category first only half the time; together they agree on it far more often
  (docs/ecommerce.md has the figures on both evaluation splits);
- "likelihood": the softmax over the paths' total log-likelihoods;
- "mean-likelihood": over their per-token means (removes a base model's preference for short paths;
  `length_normalized=True` is the older way to ask for it).
Where it cannot (an upstream), the constrained answer is first with
score 1.0 and the other candidates follow with their cosine similarity to the text (method
"constrained+retrieval": a ranking, not probabilities); an upstream that ignores the constraint and
writes no taxonomy path leaves the retrieval ranking, by cosine, alone (method "retrieval").
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

from tunelab.engine.types import Constraint
from tunelab.models.torch_threads import run_torch
from tunelab.tasks.ecommerce.candidates import Budget, CandidateRetriever, Candidates, retriever_for
from tunelab.tasks.ecommerce.category_index import CategoryIndex
from tunelab.tasks.ecommerce.prompts import classify_messages
from tunelab.tasks.ecommerce.taxonomy import SEPARATOR, Taxonomy, UnknownCategoryError
from tunelab.tasks.encoder import EncoderTaskModel
from tunelab.tasks.model import TaskModel

RANKINGS = ("hybrid", "likelihood", "mean-likelihood")
# The hybrid ranking's weights, in nats of mean log-probability per token. Chosen on the packaged real
# split (164 titles) and checked on 90 other real-style titles over 90 categories the split lacks:
# quickstart adapter accuracy 0.77 and 0.66 there (mean likelihood alone: 0.34 and 0.38; cosine alone:
# 0.49 and 0.52).
COSINE_WEIGHT = 10.0  # a cosine 0.1 higher is worth one nat per token
BM25_WEIGHT = 1.0  # the best BM25 hit gets 1 nat, the second 0.5, ...
KNN_WEIGHT = 1.0  # the label of the nearest catalogue product gets 1 nat, the next label 0.5, ...
PATH_MAX_TOKENS = 64  # the longest taxonomy path is ~30 SmolLM2 tokens; the engine closes a choice in time anyway
DEFAULT_CONCURRENCY = 32


@dataclass(frozen=True)
class CategoryScore:
    id: int | None  # None only for an encoder classifier's label that is not a taxonomy category
    path: str | None
    score: float
    label: str | None = None  # an encoder classifier's own label name


@dataclass(frozen=True)
class Classification:
    """The chosen category (`id`, `path`, `score`), the best `k` candidates best first (the chosen
    one first), how the scores were made ("hybrid", "likelihood", "mean-likelihood", "constrained+retrieval",
    "retrieval", or "encoder": an encoder classifier's softmax over its labels, `label` its own label
    name), and the candidate ids: per source ("embedding", "knn", "bm25", "generated" for the path the
    model wrote) and "union", every category ranked (empty for an encoder)."""

    id: int | None
    path: str | None
    score: float
    top_k: list[CategoryScore] = field(default_factory=list)
    method: str = "hybrid"
    label: str | None = None
    candidates: dict[str, list[int]] = field(default_factory=dict)


_CHOICES: weakref.WeakKeyDictionary[Taxonomy, Constraint] = weakref.WeakKeyDictionary()


def path_constraint(taxonomy: Taxonomy) -> Constraint:
    """The choice constraint over every path of `taxonomy`, built once per taxonomy object (the engine
    caches what it compiles by the constraint's content: ~0.2 s for the 5,595 Google paths)."""
    constraint = _CHOICES.get(taxonomy)
    if constraint is None:
        constraint = Constraint(kind="choice", choices=tuple(c.full_path for c in taxonomy))
        _CHOICES[taxonomy] = constraint
    return constraint


def parse_path(taxonomy: Taxonomy, text: str) -> int | None:
    """The id of the path a model wrote, or None when it is no taxonomy path. Forgiving about what an
    unconstrained model adds: quotes, a trailing period, case, spacing around '>'."""
    cleaned = text.strip().strip("\"'`").strip().rstrip(".").strip()
    if not cleaned:
        return None
    try:
        return taxonomy.id_for_path(cleaned)
    except UnknownCategoryError:
        pass
    wanted = SEPARATOR.join(p.strip().lower() for p in cleaned.split(">"))
    return next((c.id for c in taxonomy if c.full_path.lower() == wanted), None)


def _check_text(text: str, record_id: str | None) -> None:
    if not isinstance(text, str) or not text.strip():
        where = f"record {record_id!r}" if record_id is not None else "the request"
        raise ValueError(f"Empty product text in {where}: give a title (and optionally a description) to classify.")


def _softmax(logps: list[float]) -> list[float]:
    top = max(logps)
    if top == -math.inf:  # every option impossible (cannot happen with finite logits): uniform
        return [1.0 / len(logps)] * len(logps)
    exp = [math.exp(lp - top) for lp in logps]
    total = sum(exp)
    return [e / total for e in exp]


async def _written(model: TaskModel, messages: list[dict], taxonomy: Taxonomy) -> int | None:
    """The path the model writes under the taxonomy constraint (None when it is not one)."""
    written = await model.complete(messages, max_tokens=PATH_MAX_TOKENS, constraint=path_constraint(taxonomy))
    return parse_path(taxonomy, written)


def _evidence(found: Candidates, ids: list[int]) -> list[float]:
    """What retrieval says of each candidate, in nats (the hybrid ranking's addend). A path only the
    model wrote (not retrieved) gets the lowest cosine of the retrieved ones."""
    floor = min(found.cosine.values(), default=0.0)
    ranks = {name: {cid: r for r, cid in enumerate(found.sources.get(name, []))} for name in ("bm25", "knn")}

    def bonus(name: str, weight: float, cid: int) -> float:
        rank = ranks[name].get(cid)
        return weight / (1 + rank) if rank is not None and weight else 0.0

    return [COSINE_WEIGHT * found.cosine.get(cid, floor) + bonus("bm25", BM25_WEIGHT, cid)
            + bonus("knn", KNN_WEIGHT, cid) for cid in ids]


def resolve_ranking(ranking: str | None, length_normalized: bool = False) -> str:
    """`ranking`, else "mean-likelihood" when `length_normalized`, else "hybrid"; ValueError when unknown."""
    chosen = ranking or ("mean-likelihood" if length_normalized else "hybrid")
    if chosen not in RANKINGS:
        raise ValueError(f"ranking must be one of {', '.join(RANKINGS)} (got {ranking!r}).")
    return chosen


async def _classify(model: TaskModel, text: str, found: Candidates, *, taxonomy: Taxonomy, k: int,
                    generate: bool = False, ranking: str = "hybrid") -> Classification:
    messages = classify_messages(text)
    cosine = found.cosine
    ids = list(found.ids)
    sources = dict(found.sources)
    chosen = await _written(model, messages, taxonomy) if generate else None
    if chosen is not None and chosen not in cosine:
        ids.append(chosen)
    paths = [taxonomy.path(i) for i in ids]
    logps = await model.score(messages, paths, mean=ranking != "likelihood")
    if logps is None and not generate:  # no likelihoods (an upstream): the model's constrained pick leads
        chosen = await _written(model, messages, taxonomy)
        if chosen is not None and chosen not in cosine:
            ids.append(chosen)
    if chosen is not None:
        sources["generated"] = [chosen]
    if logps is not None:
        if ranking == "hybrid":
            logps = [lp + e for lp, e in zip(logps, _evidence(found, ids))]
        ranked = sorted(zip(ids, _softmax(logps)), key=lambda p: -p[1])
        method = ranking
    elif chosen is not None:
        ranked = [(chosen, 1.0)] + sorted(((i, cosine[i]) for i in ids if i != chosen), key=lambda p: -p[1])
        method = "constrained+retrieval"
    else:
        ranked = sorted(((i, cosine[i]) for i in ids), key=lambda p: -p[1])
        method = "retrieval"
    top = [CategoryScore(i, taxonomy.path(i), float(s)) for i, s in ranked[:max(k, 1)]]
    return Classification(id=top[0].id, path=top[0].path, score=top[0].score, top_k=top, method=method,
                          candidates={**sources, "union": ids})


def _category_of(label: str, taxonomy: Taxonomy) -> tuple[int | None, str | None]:
    """An encoder label as a taxonomy category: a category id or a full path; else (None, None)."""
    if label.strip().isdigit() and int(label) in taxonomy:
        return int(label), taxonomy.path(int(label))
    try:
        cid = taxonomy.id_for_path(label)
    except (UnknownCategoryError, ValueError):
        return None, None
    return cid, taxonomy.path(cid)


async def _encoder_classify(model: EncoderTaskModel, texts: Sequence[str], taxonomy: Taxonomy,
                            k: int) -> list[Classification]:
    out = []
    for ranked in await model.rank_labels(texts, max(k, 1)):
        top = [CategoryScore(*_category_of(label, taxonomy), float(p), label=label) for label, p in ranked]
        out.append(Classification(id=top[0].id, path=top[0].path, score=top[0].score, top_k=top,
                                  method="encoder", label=top[0].label))
    return out


def _budget(k: int, candidates: int, knn_candidates: int, bm25_candidates: int) -> Budget:
    if k < 1:
        raise ValueError(f"k must be at least 1 (got k={k}).")
    if candidates < 1 and knn_candidates < 1 and bm25_candidates < 1:
        raise ValueError(f"candidates must be at least 1 (got candidates={candidates}), or another source "
                         "(knn_candidates, bm25_candidates) must have a budget.")
    return Budget(embedding=candidates, knn=knn_candidates, bm25=bm25_candidates)  # a negative one: ValueError


def _retriever(taxonomy: Taxonomy, index: CategoryIndex | CandidateRetriever) -> CandidateRetriever:
    if index.taxonomy is not taxonomy and (len(index) != len(taxonomy) or index.taxonomy.version != taxonomy.version):
        raise ValueError(f"The category index was built over {index.taxonomy!r}, not over {taxonomy!r}.")
    return retriever_for(index)


async def classify(model: TaskModel, text: str, *, taxonomy: Taxonomy, index: CategoryIndex | CandidateRetriever,
                   k: int = 5, candidates: int = 20, knn_candidates: int = 0, bm25_candidates: int = 0,
                   length_normalized: bool = False, record_id: str | None = None,
                   generate: bool = False, ranking: str | None = None) -> Classification:
    """Classify one product text (title first, then brand, bullets, description). `k`: how many
    candidates to return; `candidates`: how many to retrieve by embedding; `knn_candidates`: how many
    categories the nearest labelled catalogue products may add (`index` a `CandidateRetriever` with
    its catalogue, else the sample's train split); `bm25_candidates`: how many the title's words may
    add; `ranking`: "hybrid" (default), "likelihood" or "mean-likelihood" (see the module's docstring;
    `length_normalized` True and no `ranking`: "mean-likelihood"); `generate`: the path the model
    writes under the taxonomy constraint joins the candidates too (a second pass over the prompt:
    slower, but reaches categories retrieval missed; always done for a model that cannot score).
    Raises ValueError on an empty text (naming `record_id`)."""
    _check_text(text, record_id)
    return (await classify_many(model, [text], taxonomy=taxonomy, index=index, k=k, candidates=candidates,
                                knn_candidates=knn_candidates, bm25_candidates=bm25_candidates,
                                length_normalized=length_normalized, generate=generate, ranking=ranking))[0]


async def classify_many(model: TaskModel, texts: Sequence[str], *, taxonomy: Taxonomy,
                        index: CategoryIndex | CandidateRetriever | None, k: int = 5, candidates: int = 20,
                        knn_candidates: int = 0, bm25_candidates: int = 0, length_normalized: bool = False,
                        record_ids: Sequence[str] | None = None, concurrency: int = DEFAULT_CONCURRENCY,
                        generate: bool = False, ranking: str | None = None) -> list[Classification]:
    """`classify` for many texts, in order: retrieval in one embedding batch, then up to `concurrency`
    requests in flight at once so a batching engine runs them together. Every text is checked first."""
    if record_ids is not None and len(record_ids) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(record_ids)} record ids.")
    for i, text in enumerate(texts):
        _check_text(text, record_ids[i] if record_ids is not None else str(i))
    chosen = resolve_ranking(ranking, length_normalized)
    if isinstance(model, EncoderTaskModel):
        return await _encoder_classify(model, texts, taxonomy, k)
    budget = _budget(k, candidates, knn_candidates, bm25_candidates)
    retriever = _retriever(taxonomy, index)
    found = await run_torch(retriever.gather_many, list(texts), budget)  # embedding is CPU work: off the loop
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(text: str, hits: Candidates) -> Classification:
        async with gate:
            return await _classify(model, text, hits, taxonomy=taxonomy, k=k, generate=generate, ranking=chosen)

    return list(await asyncio.gather(*(one(t, h) for t, h in zip(texts, found))))
