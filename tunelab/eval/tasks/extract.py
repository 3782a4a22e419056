"""Evaluate attribute extraction to JSON (MAVE records: paragraphs + attribute evidences).

The attributes asked for are `config.attributes` or, by default, each record's own keys (all
strings, as the [EXTRACT] training examples ask). The reference is {attribute: first evidence value,
or null when the record has no evidence}; predicted keys that were not asked for are ignored.
Metrics: exact_match (the whole object equal to the reference, strings compared exactly, and valid);
precision / recall / f1 (slot micro-averaged over all (record, attribute) pairs, values compared
after SQuAD normalisation: see `tunelab.eval.metrics.slot_scores`); token_f1 (mean SQuAD token F1 over
the slots whose reference has a value); valid_json (share of outputs that parsed and matched the schema).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tunelab.data.errors import FieldError
from tunelab.eval.metrics import json_exact_match, slot_scores, token_f1
from tunelab.eval.tasks import Example, Scores, select_split, unique_ids
from tunelab.settings import Settings
from tunelab.tasks.ecommerce.attributes import parse_attribute_spec, validate_values
from tunelab.tasks.ecommerce.datasets import load_mave, sample_path


@dataclass
class Context:
    spec: dict | None  # the global AttributeSpec, or None: each record's own keys


def metric_names(config) -> list[str]:
    return ["exact_match", "f1", "precision", "recall", "token_f1", "valid_json"]


def _global_spec(config):

    value = config.attributes
    if value is None:
        return None
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    return parse_attribute_spec(value, where="attributes")


def _record_spec(record, spec):

    if spec is not None:
        return spec
    return parse_attribute_spec([a.key for a in record.attributes], where=f"attribute record {record.id!r}")


def load_examples(config) -> list[Example]:

    source = config.data or str(sample_path("attributes"))
    spec = _global_spec(config)
    records = load_mave(source)
    if spec is None:  # a record that names no attribute has nothing to extract
        records = [r for r in records if r.attributes]
    chosen = select_split(records, config.split, config.limit, source)
    examples = []
    for r in chosen:
        known = r.values()
        reference = {k: known.get(k) for k in _record_spec(r, spec)}
        examples.append(Example(id=r.id, input=r.text(), reference=reference,
                                reference_text=json.dumps(reference, ensure_ascii=False), record=r))
    return unique_ids(examples, source)


async def prepare(config, settings: Settings, *, with_models: bool = True) -> Context:
    return Context(_global_spec(config))


def _asked(values: Any, example: Example) -> dict[str, Any]:
    """The predicted values of the attributes asked for (missing ones as null)."""
    values = values if isinstance(values, dict) else {}
    return {k: values.get(k) for k in example.reference}


def _output(values: dict, valid: bool, raw: str, example: Example | None, **extra: Any) -> dict[str, Any]:
    asked = _asked(values, example) if example is not None else {}
    text = json.dumps(asked, ensure_ascii=False) if valid else (raw or "")
    return {"values": asked, "valid": bool(valid), "raw": raw, "text": text,
            "key": json.dumps(asked, sort_keys=True, ensure_ascii=False) if valid else f"invalid:{raw}", **extra}


async def predict(model, example: Example, ctx: Context) -> dict[str, Any]:
    from tunelab.tasks.ecommerce.extract import extract  # lazy: torch is slow to import

    e = await extract(model, example.input, _record_spec(example.record, ctx.spec), record_id=example.id)
    return _output(e.values, e.valid, e.raw, example)


def failed_output(error: str) -> dict[str, Any]:
    return {"values": {}, "valid": False, "raw": "", "text": "", "key": None, "error": error}


def to_prediction(output: dict[str, Any]) -> Any:
    """What a predictions file holds for `output`: the values, or the raw text when it was invalid."""
    return output["values"] if output["valid"] else output["raw"]


def parse_prediction(value: Any, example: Example, ctx: Context) -> dict[str, Any]:
    """A prediction: an object of attribute values (or its JSON text); valid when it matches the schema."""

    raw = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return _output({}, False, raw, example)
    if value is not None and not isinstance(value, dict):
        raise FieldError("prediction", f"expected an object of attribute values, got {type(value).__name__}")
    spec = _record_spec(example.record, ctx.spec)
    valid = value is not None and not validate_values(value, spec)
    return _output(value or {}, valid, raw, example)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return " ".join(_as_text(v) for v in value)
    return json.dumps(value, ensure_ascii=False)


def _em_input(output: dict[str, Any]) -> Any:
    # an invalid output never matches: its raw text is compared (it fails to parse, or differs)
    return output["values"] if output.get("valid") else (output.get("raw") or "")


def score(examples: list[Example], outputs: dict[str, list[dict]], ctx: Context) -> Scores:
    refs = [ex.reference for ex in examples]
    filled = [(i, k) for i, ref in enumerate(refs) for k, v in ref.items() if v is not None]
    support = Counter(k for _, k in filled)
    labels = [k for k, _ in sorted(support.items(), key=lambda kv: (-kv[1], kv[0]))]
    metrics, per_example, per_attr = {}, {}, {}
    for model, outs in outputs.items():
        preds = [o["values"] for o in outs]
        slots = slot_scores(preds, refs)
        micro = slots.micro
        tok = (token_f1([_as_text(preds[i].get(k)) for i, k in filled], [_as_text(refs[i][k]) for i, k in filled])
               if filled else math.nan)
        metrics[model] = {
            "exact_match": json_exact_match([_em_input(o) for o in outs], refs),
            "f1": micro.f1, "precision": micro.precision, "recall": micro.recall,
            "token_f1": tok,
            "valid_json": sum(bool(o.get("valid")) for o in outs) / len(outs),
        }
        rows = []
        for o, ref in zip(outs, refs):
            em = json_exact_match([_em_input(o)], [ref])
            o["correct"] = em == 1.0
            rows.append({"exact_match": em, "f1": slot_scores([o["values"]], [ref]).micro.f1,
                         "valid_json": float(bool(o.get("valid")))})
        per_example[model] = rows
        per_attribute = slots.per_attribute
        per_attr[model] = [per_attribute[k].f1 if k in per_attribute else 0.0 for k in labels]
    breakdowns = {"per_attribute": {
        "title": "Per-attribute F1", "metric": "f1", "label_name": "attribute",
        "note": "Slot F1 of each attribute over all records; support = records whose reference has a value.",
        "labels": labels, "support": [support[k] for k in labels], "values": per_attr,
    }}
    return Scores(metrics, per_example, breakdowns)


def judge_view(example: Example, output: dict[str, Any]) -> tuple[str, str, str]:
    return example.input, example.reference_text, output.get("text") or ""
