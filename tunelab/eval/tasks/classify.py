"""Evaluate product classification into the Google Product Taxonomy.

Metrics (labels are category ids; a prediction with no usable category is its own "none" label):
accuracy; f1 = macro F1 over every label seen in references or predictions (scikit-learn's
average="macro"); weighted_f1 (weights = reference support); hierarchical_f1 (ancestor-augmented
micro hF, Kiritchenko et al.); top{k}_accuracy (the reference among the k ranked categories).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import anyio

from tunelab.data.errors import FieldError
from tunelab.eval.metrics import accuracy, hierarchical_f1, macro_f1, per_class_counts, top_k_accuracy, weighted_f1
from tunelab.eval.tasks import Example, Scores, select_split, unique_ids
from tunelab.settings import Settings
from tunelab.tasks.ecommerce.category_index import CategoryIndex
from tunelab.tasks.ecommerce.datasets import load_products, packaged_taxonomy, sample_path
from tunelab.tasks.ecommerce.taxonomy import Taxonomy

NONE_LABEL = "(none)"


@dataclass
class Context:
    taxonomy: Any  # Taxonomy
    index: Any  # CategoryIndex, or None when only prediction files are scored
    k: int
    candidates: int


def metric_names(config) -> list[str]:
    return ["accuracy", "f1", "weighted_f1", "hierarchical_f1", f"top{config.k}_accuracy"]


def _taxonomy(config):

    return Taxonomy.load(config.taxonomy) if config.taxonomy else packaged_taxonomy()


def load_examples(config) -> list[Example]:

    taxonomy = _taxonomy(config)
    source = config.data or str(sample_path("products"))
    products = load_products(source, taxonomy=taxonomy)
    chosen = select_split(products, config.split, config.limit, source)
    return unique_ids([Example(id=p.id, input=p.text(), reference={"id": p.category_id, "path": p.category_path},
                               reference_text=f"{p.category_path} ({p.category_id})", record=p) for p in chosen],
                      source)


async def prepare(config, settings: Settings, *, with_models: bool = True) -> Context:
    """The taxonomy, and (when models will run) the embedding index of its category paths."""
    taxonomy = _taxonomy(config)
    index = None
    if with_models:

        index = await anyio.to_thread.run_sync(
            lambda: CategoryIndex(taxonomy, cache_dir=settings.home / "cache"))
    return Context(taxonomy, index, config.k, config.candidates)


def _output(cid: int | None, path: str | None, top_k: list[dict], **extra: Any) -> dict[str, Any]:
    return {"id": cid, "path": path, "top_k": top_k, "text": f"{path} ({cid})" if path else NONE_LABEL,
            "key": cid, **extra}


async def predict(model, example: Example, ctx: Context) -> dict[str, Any]:
    from tunelab.tasks.ecommerce.classify import classify  # lazy: torch is slow to import

    c = await classify(model, example.input, taxonomy=ctx.taxonomy, index=ctx.index, k=ctx.k,
                       candidates=ctx.candidates, record_id=example.id)
    top = [{"id": t.id, "path": t.path, "score": float(t.score)} for t in c.top_k]
    return _output(c.id, c.path, top, score=float(c.score), method=c.method)


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
            "f1": macro_f1(preds, refs),
            "weighted_f1": weighted_f1(preds, refs),
            "hierarchical_f1": hierarchical_f1(known, refs, ancestors),
            f"top{k}_accuracy": top_k_accuracy(ranked, refs, k=k),
        }
        rows = []
        for o, p, kn, r, rank in zip(outs, preds, known, refs, ranked):
            o["correct"] = p == r
            rows.append({"correct": float(p == r), "hierarchical_f1": hierarchical_f1([kn], [r], ancestors),
                         f"top{k}_hit": float(r in rank[:k])})
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


def judge_view(example: Example, output: dict[str, Any]) -> tuple[str, str, str]:
    return example.input, example.reference["path"] or "", output.get("path") or "(no category)"
