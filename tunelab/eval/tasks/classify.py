"""Evaluate product classification into the Google Product Taxonomy.

Metrics (labels are category ids; a prediction with no usable category is its own "none" label):
accuracy; top_level_accuracy (the predicted category's top-level branch, e.g. "Electronics", is the
reference's); f1 = macro F1 over every label seen in references or predictions (scikit-learn's
average="macro"); weighted_f1 (weights = reference support); hierarchical_f1 (ancestor-augmented
micro hF, Kiritchenko et al.); top{k}_accuracy (the reference among the k ranked categories);
candidate_recall (the reference among the categories the model ranked: the ceiling of accuracy) and
candidate_recall_<source> for each candidate source with a budget (embedding, knn, bm25), over the
examples whose candidates are known (not a predictions file's, nor an encoder classifier's).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from tunelab.data.errors import FieldError
from tunelab.eval.metrics import accuracy, hierarchical_f1, macro_f1, per_class_counts, top_k_accuracy, weighted_f1
from tunelab.eval.tasks import Example, Scores, select_split, unique_ids
from tunelab.models.torch_threads import run_torch
from tunelab.settings import Settings
from tunelab.tasks.ecommerce.candidates import CandidateRetriever
from tunelab.tasks.ecommerce.category_index import CategoryIndex
from tunelab.tasks.ecommerce.datasets import (
    REAL_SPLIT,
    load_products,
    packaged_taxonomy,
    real_products_path,
    sample_path,
)
from tunelab.tasks.ecommerce.neighbours import ProductNeighbours
from tunelab.tasks.ecommerce.taxonomy import Taxonomy

NONE_LABEL = "(none)"
SOURCE_FIELDS = {"embedding": "candidates", "knn": "knn_candidates", "bm25": "bm25_candidates"}


@dataclass
class Context:
    taxonomy: Any  # Taxonomy
    index: Any  # CandidateRetriever, or None when only prediction files are scored
    k: int
    candidates: int
    knn_candidates: int = 0
    bm25_candidates: int = 0
    length_normalized: bool = False
    ranking: str | None = None

    def sources(self) -> list[str]:
        """The candidate sources with a budget."""
        return [name for name, key in SOURCE_FIELDS.items() if getattr(self, key) > 0]


def _sources(config) -> list[str]:
    return [name for name, key in SOURCE_FIELDS.items() if getattr(config, key) > 0]


def metric_names(config) -> list[str]:
    return ["accuracy", "top_level_accuracy", "f1", "weighted_f1", "hierarchical_f1", f"top{config.k}_accuracy",
            "candidate_recall",
            *(f"candidate_recall_{s}" for s in _sources(config))]


def _taxonomy(config):

    return Taxonomy.load(config.taxonomy) if config.taxonomy else packaged_taxonomy()


def load_examples(config) -> list[Example]:

    taxonomy = _taxonomy(config)
    source = config.data or str(real_products_path() if config.split == REAL_SPLIT else sample_path("products"))
    products = load_products(source, taxonomy=taxonomy)
    chosen = select_split(products, config.split, config.limit, source)
    return unique_ids([Example(id=p.id, input=p.text(), reference={"id": p.category_id, "path": p.category_path},
                               reference_text=f"{p.category_path} ({p.category_id})", record=p) for p in chosen],
                      source)


def _retriever(config, settings: Settings, taxonomy: Taxonomy) -> CandidateRetriever:
    """The category index, and the knn catalogue when knn has a budget: `catalogue`'s train split (the
    sample's by default) less the evaluated records, so no product votes for itself."""
    cache = settings.home / "cache"
    index = CategoryIndex(taxonomy, cache_dir=cache)
    neighbours = None
    if config.knn_candidates > 0:
        evaluated = {ex.id for ex in load_examples(config)}
        if config.catalogue:
            neighbours = ProductNeighbours.from_file(config.catalogue, taxonomy, index.embedder, cache_dir=cache,
                                                     exclude=evaluated)
        else:
            neighbours = ProductNeighbours.sample(index.embedder, taxonomy=taxonomy, cache_dir=cache, exclude=evaluated)
    return CandidateRetriever(index, neighbours=neighbours)


async def prepare(config, settings: Settings, *, with_models: bool = True) -> Context:
    """The taxonomy, and (when models will run) the candidate sources: the embedding index of its
    category paths, the knn catalogue, the BM25 index of its names and synonyms."""
    taxonomy = _taxonomy(config)
    index = None
    if with_models:
        index = await run_torch(lambda: _retriever(config, settings, taxonomy))
    return Context(taxonomy, index, config.k, config.candidates, config.knn_candidates, config.bm25_candidates,
                   config.length_normalized, config.ranking)


def _output(cid: int | None, path: str | None, top_k: list[dict], **extra: Any) -> dict[str, Any]:
    return {"id": cid, "path": path, "top_k": top_k, "text": f"{path} ({cid})" if path else NONE_LABEL,
            "key": cid, **extra}


async def predict(model, example: Example, ctx: Context) -> dict[str, Any]:
    from tunelab.tasks.ecommerce.classify import classify  # lazy: torch is slow to import

    c = await classify(model, example.input, taxonomy=ctx.taxonomy, index=ctx.index, k=ctx.k,
                       candidates=ctx.candidates, knn_candidates=ctx.knn_candidates,
                       bm25_candidates=ctx.bm25_candidates, length_normalized=ctx.length_normalized, ranking=ctx.ranking,
                       record_id=example.id)
    top = [{"id": t.id, "path": t.path, "score": float(t.score)} for t in c.top_k]
    return _output(c.id, c.path, top, score=float(c.score), method=c.method, candidates=c.candidates)


def failed_output(error: str) -> dict[str, Any]:
    return _output(None, None, [], error=error)


def to_prediction(output: dict[str, Any]) -> dict[str, Any]:
    """What a predictions file holds for `output` (read back by `parse_prediction`)."""
    return {"id": output["id"], "path": output["path"], "top_k": [t["id"] for t in output["top_k"]]}


def _category_id(value: Any, ctx: Context, field: str) -> tuple[int | None, str | None]:
    """A predicted category: an id (int or digits) or a full path; an id the taxonomy lacks is kept
    (it scores as wrong), a path it lacks is refused (a typo the user can fix)."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        raise FieldError(field, f"expected a category id or path, got {value!r}")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        cid = int(value)
        return cid, ctx.taxonomy.path(cid) if cid in ctx.taxonomy else None
    if isinstance(value, str):
        try:
            cid = ctx.taxonomy.id_for_path(value)
        except KeyError:
            raise FieldError(field, f"{value!r} is not a category id or a full path of the taxonomy") from None
        return cid, ctx.taxonomy.path(cid)
    raise FieldError(field, f"expected a category id or path, got {type(value).__name__}")


def parse_prediction(value: Any, example: Example, ctx: Context) -> dict[str, Any]:
    """A prediction: a category id, a full path, or {"id" | "path", "top_k": [ids or paths, best first]}."""
    if isinstance(value, dict):
        cid, path = _category_id(value.get("id", value.get("path")), ctx, "prediction.id")
        raw_top = value.get("top_k") or []
        if not isinstance(raw_top, list):
            raise FieldError("prediction.top_k", "expected a list of category ids or paths, best first")
        top = []
        for i, item in enumerate(raw_top):
            item = item.get("id", item.get("path")) if isinstance(item, dict) else item
            tid, tpath = _category_id(item, ctx, f"prediction.top_k[{i}]")
            top.append({"id": tid, "path": tpath, "score": None})
        return _output(cid, path, top)
    cid, path = _category_id(value, ctx, "prediction")
    return _output(cid, path, [])


def _branch(cid: int | None, taxonomy: Taxonomy) -> int | None:
    """The top-level category `cid` is under (itself when it is one); None for no known category."""
    return None if cid is None or cid not in taxonomy else taxonomy.ancestors(cid, include_self=True)[0]


def _label(cid: int | None) -> Any:
    return NONE_LABEL if cid is None else cid


def score(examples: list[Example], outputs: dict[str, list[dict]], ctx: Context) -> Scores:
    refs = [ex.reference["id"] for ex in examples]
    ancestors = ctx.taxonomy.ancestors
    k = ctx.k
    metrics, per_example, per_class = {}, {}, {}
    support = Counter(refs)
    labels = [cid for cid, _ in sorted(support.items(), key=lambda kv: (-kv[1], str(kv[0])))]
    for model, outs in outputs.items():
        preds = [_label(o["id"]) for o in outs]
        known = [o["id"] if o["id"] is not None and o["id"] in ctx.taxonomy else None for o in outs]
        ranked = [[t["id"] for t in o["top_k"]] or ([o["id"]] if o["id"] is not None else []) for o in outs]
        metrics[model] = {
            "accuracy": accuracy(preds, refs),
            "top_level_accuracy": accuracy([_branch(c, ctx.taxonomy) for c in known],
                                           [_branch(r, ctx.taxonomy) for r in refs]),
            "f1": macro_f1(preds, refs),
            "weighted_f1": weighted_f1(preds, refs),
            "hierarchical_f1": hierarchical_f1(known, refs, ancestors),
            f"top{k}_accuracy": top_k_accuracy(ranked, refs, k=k),
            **candidate_recall(outs, refs, ctx.sources()),
        }
        rows = []
        for o, p, kn, r, rank in zip(outs, preds, known, refs, ranked):
            o["correct"] = p == r
            row = {"correct": float(p == r), "hierarchical_f1": hierarchical_f1([kn], [r], ancestors),
                   f"top{k}_hit": float(r in rank[:k])}
            if o.get("candidates"):
                row["candidate_hit"] = float(r in o["candidates"].get("union", []))
            rows.append(row)
        per_example[model] = rows
        counts = per_class_counts(preds, refs)
        per_class[model] = [counts[c].prf().f1 for c in labels]
    breakdowns = {"per_class": {
        "title": "Per-class F1", "metric": "f1", "label_name": "category",
        "note": "One-vs-rest F1 of each reference category, most frequent first.",
        "labels": [f"{ctx.taxonomy.path(c)} ({c})" if c in ctx.taxonomy else str(c) for c in labels],
        "support": [support[c] for c in labels], "values": per_class,
    }}
    return Scores(metrics, per_example, breakdowns)


def candidate_recall(outs: list[dict], refs: list, sources: list[str]) -> dict[str, float]:
    """candidate_recall: the share of examples whose reference is among the categories the model
    ranked (the union of every source, and the path it wrote where it wrote one), and
    candidate_recall_<source> for each of `sources` alone; over the outputs that record their
    candidates. {} when none does (a predictions file, an encoder classifier)."""
    known = [(o["candidates"], r) for o, r in zip(outs, refs) if o.get("candidates")]
    if not known:
        return {}
    out = {"candidate_recall": sum(r in c.get("union", []) for c, r in known) / len(known)}
    for source in sources:
        out[f"candidate_recall_{source}"] = sum(r in c.get(source, []) for c, r in known) / len(known)
    return out


def judge_view(example: Example, output: dict[str, Any]) -> tuple[str, str, str]:
    return example.input, example.reference["path"] or "", output.get("path") or "(no category)"
