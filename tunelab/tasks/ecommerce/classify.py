"""[CLASSIFY]: a product text -> a Google Product Taxonomy category, always a real id and full path.

Candidates are the union of up to three sources (`tunelab.tasks.ecommerce.candidates`): the
`candidates` categories nearest by embedding (`CategoryIndex`), the labels of the nearest labelled
catalogue products (`knn_candidates`) and the categories whose names and synonyms match the title's
words (`bm25_candidates`); plus, with `generate`, the path the model writes under a choice
constraint over every taxonomy path (so a fine-tuned model reaches its category even when retrieval
misses it). Where the model can score replies (a local engine), each candidate's path is scored as
the whole reply and the scores are a softmax over the candidates' log-likelihoods (method
"likelihood": probabilities summing to 1 over all candidates); with `length_normalized` over their
per-token mean log-likelihoods instead (method "mean-likelihood"), which removes a base model's
preference for short paths. Where it cannot (an upstream), the constrained answer is first with
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
from tunelab.tasks.ecommerce.candidates import Budget, CandidateRetriever, Candidates, retriever_for
from tunelab.tasks.ecommerce.category_index import CategoryIndex
from tunelab.tasks.ecommerce.prompts import classify_messages
from tunelab.tasks.ecommerce.taxonomy import SEPARATOR, Taxonomy, UnknownCategoryError
from tunelab.tasks.encoder import EncoderTaskModel
from tunelab.tasks.model import TaskModel

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
    one first), how the scores were made ("likelihood", "mean-likelihood", "constrained+retrieval",
    "retrieval", or "encoder": an encoder classifier's softmax over its labels, `label` its own label
    name), and the candidate ids: per source ("embedding", "knn", "bm25", "generated" for the path the
    model wrote) and "union", every category ranked (empty for an encoder)."""

    id: int | None
    path: str | None
    score: float
    top_k: list[CategoryScore] = field(default_factory=list)
    method: str = "likelihood"
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


async def _classify(model: TaskModel, text: str, found: Candidates, *, taxonomy: Taxonomy, k: int,
                    generate: bool = False, length_normalized: bool = False) -> Classification:
    messages = classify_messages(text)
    cosine = found.cosine
    ids = list(found.ids)
    sources = dict(found.sources)
    chosen = await _written(model, messages, taxonomy) if generate else None
    if chosen is not None and chosen not in cosine:
        ids.append(chosen)
    paths = [taxonomy.path(i) for i in ids]
    logps = await (model.score(messages, paths, mean=True) if length_normalized else model.score(messages, paths))
    if logps is None and not generate:  # no likelihoods (an upstream): the model's constrained pick leads
        chosen = await _written(model, messages, taxonomy)
        if chosen is not None and chosen not in cosine:
            ids.append(chosen)
    if chosen is not None:
        sources["generated"] = [chosen]
    if logps is not None:
        ranked = sorted(zip(ids, _softmax(logps)), key=lambda p: -p[1])
        method = "mean-likelihood" if length_normalized else "likelihood"
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
                   generate: bool = False) -> Classification:
    """Classify one product text (title first, then brand, bullets, description). `k`: how many
    candidates to return; `candidates`: how many to retrieve by embedding; `knn_candidates`: how many
    categories the nearest labelled catalogue products may add (`index` a `CandidateRetriever` with
    its catalogue, else the sample's train split); `bm25_candidates`: how many the title's words may
    add; `length_normalized`: rank by per-token mean log-likelihood; `generate`: the path the model
    writes under the taxonomy constraint joins the candidates too (a second pass over the prompt:
    slower, but reaches categories retrieval missed; always done for a model that cannot score).
    Raises ValueError on an empty text (naming `record_id`)."""
    _check_text(text, record_id)
    return (await classify_many(model, [text], taxonomy=taxonomy, index=index, k=k, candidates=candidates,
                                knn_candidates=knn_candidates, bm25_candidates=bm25_candidates,
                                length_normalized=length_normalized, generate=generate))[0]


async def classify_many(model: TaskModel, texts: Sequence[str], *, taxonomy: Taxonomy,
                        index: CategoryIndex | CandidateRetriever | None, k: int = 5, candidates: int = 20,
                        knn_candidates: int = 0, bm25_candidates: int = 0, length_normalized: bool = False,
                        record_ids: Sequence[str] | None = None, concurrency: int = DEFAULT_CONCURRENCY,
                        generate: bool = False) -> list[Classification]:
    """`classify` for many texts, in order: retrieval in one embedding batch, then up to `concurrency`
    requests in flight at once so a batching engine runs them together. Every text is checked first."""
    if record_ids is not None and len(record_ids) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(record_ids)} record ids.")
    for i, text in enumerate(texts):
        _check_text(text, record_ids[i] if record_ids is not None else str(i))
    if isinstance(model, EncoderTaskModel):
        return await _encoder_classify(model, texts, taxonomy, k)
    budget = _budget(k, candidates, knn_candidates, bm25_candidates)
    retriever = _retriever(taxonomy, index)
    found = await asyncio.to_thread(retriever.gather_many, list(texts), budget)  # embedding is CPU work: off the loop
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(text: str, hits: Candidates) -> Classification:
        async with gate:
            return await _classify(model, text, hits, taxonomy=taxonomy, k=k, generate=generate,
                                   length_normalized=length_normalized)

    return list(await asyncio.gather(*(one(t, h) for t, h in zip(texts, found))))
