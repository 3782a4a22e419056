"""Extraction metrics: SQuAD-style exact match and token F1, whole-JSON exact match, per-attribute slot P/R/F1.

Pure functions of (predictions, references). Strings are compared after `normalize_answer`
(the SQuAD evaluation script's normalisation); a string reference may also be a list of acceptable
answers, in which case an example scores its best match."""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tunelab.eval.metrics.checks import paired
from tunelab.eval.metrics.scores import PRF, Counts

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower-case, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace."""
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _alternatives(reference: Any, index: int) -> list[str]:
    """A reference as its list of acceptable answers (a single string is a list of one)."""
    if isinstance(reference, str):
        return [reference]
    if isinstance(reference, Sequence) and reference and all(isinstance(r, str) for r in reference):
        return list(reference)
    raise ValueError(
        f"references[{index}] is {reference!r}; give a string or a non-empty list of acceptable strings."
    )


def _text(prediction: Any, index: int) -> str:
    if prediction is None:  # no answer given: the empty string, as SQuAD v2 scores abstentions
        return ""
    if not isinstance(prediction, str):
        raise ValueError(f"predictions[{index}] is a {type(prediction).__name__}; give a string (or None for no answer).")
    return prediction


def exact_match(predictions: Iterable[str | None], references: Iterable[str | Sequence[str]]) -> float:
    """Fraction of predictions equal to a reference after normalisation:
    (1/N) · Σᵢ maxⱼ [norm(predᵢ) = norm(refᵢⱼ)]. None counts as the empty answer."""
    preds, refs = paired(predictions, references)
    hits = 0
    for i, (p, r) in enumerate(zip(preds, refs)):
        pred = normalize_answer(_text(p, i))
        hits += any(pred == normalize_answer(alt) for alt in _alternatives(r, i))
    return hits / len(refs)


def _token_f1(prediction: str, reference: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:  # SQuAD v2: two empty answers agree (1), one empty answer scores 0
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def token_f1(predictions: Iterable[str | None], references: Iterable[str | Sequence[str]]) -> float:
    """Mean SQuAD token F1: per example, with normalised token bags p and r and c = |p ∩ r| (multiset),
    P = c / |p|, R = c / |r|, F1 = 2·P·R / (P + R), maximised over acceptable references, then averaged.
    If either side has no tokens, F1 is 1 when both are empty and 0 otherwise."""
    preds, refs = paired(predictions, references)
    total = 0.0
    for i, (p, r) in enumerate(zip(preds, refs)):
        pred = _text(p, i)
        total += max(_token_f1(pred, alt) for alt in _alternatives(r, i))
    return total / len(refs)


# --- whole JSON objects ---------------------------------------------------------------------------

_UNPARSEABLE = object()


def _json_value(item: Any, index: int, side: str) -> Any:
    if not isinstance(item, str):
        return item
    try:
        return json.loads(item)
    except json.JSONDecodeError as err:
        if side == "predictions":  # a model that wrote broken JSON simply misses
            return _UNPARSEABLE
        raise ValueError(f"references[{index}] is not valid JSON ({err.msg} at character {err.pos}).") from None


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: key order ignored, 1 == 1.0, but true ≠ 1 and tuples are lists."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def json_exact_match(predictions: Iterable[Any], references: Iterable[Any]) -> float:
    """Fraction of predicted JSON values identical to the reference: (1/N) · Σᵢ [predᵢ ≡ refᵢ].

    Items may be Python values (dicts, lists, ...) or JSON text, which is parsed first; a prediction
    that does not parse is a miss, a reference that does not parse is an error. ≡ ignores key order
    and int/float spelling (1 ≡ 1.0) but not types otherwise (true ≢ 1, "1" ≢ 1); strings are not normalised.
    """
    preds, refs = paired(predictions, references)
    hits = 0
    for i, (p, r) in enumerate(zip(preds, refs)):
        pred, ref = _json_value(p, i, "predictions"), _json_value(r, i, "references")
        hits += pred is not _UNPARSEABLE and _json_equal(pred, ref)
    return hits / len(refs)


# --- per-attribute slots --------------------------------------------------------------------------


def normalize_value(value: Any) -> Any:
    """An attribute value in comparable form, or None for "no value".

    Strings → `normalize_answer`; numbers → their text, then normalised (so 2, 2.0 and "2" agree);
    booleans → "true"/"false"; lists/sets → the frozenset of their normalised non-null items
    (order and repeats ignored; a single item stands for itself, so ["Red"] agrees with "red");
    dicts → canonical JSON text. None, and anything that normalises to "" or an empty set, is None.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        out: Any = "true" if value else "false"
    elif isinstance(value, int):
        out = str(value)
    elif isinstance(value, float):
        out = normalize_answer(str(int(value)) if value.is_integer() else repr(value))
    elif isinstance(value, str):
        out = normalize_answer(value)
    elif isinstance(value, Mapping):
        out = json.dumps(value, sort_keys=True, default=str)
    elif isinstance(value, Iterable):
        out = frozenset(v for v in map(normalize_value, value) if v is not None)
        if len(out) == 1:  # ["red"] and "red" are the same single value
            (out,) = out
    else:
        out = normalize_answer(str(value))
    return out or None


def _record(item: Any, index: int, side: str) -> Mapping:
    if item is None and side == "predictions":
        return {}
    value = _json_value(item, index, side)
    if isinstance(value, Mapping):
        return value
    if side == "predictions":  # unparseable or not an object: the model filled no slot
        return {}
    raise ValueError(f"references[{index}] is a {type(value).__name__}; each reference must be a JSON object (dict).")


@dataclass(frozen=True)
class SlotScores:
    """Per-attribute counts; `per_attribute`, `micro` and `macro_f1` are derived from them."""

    counts: dict[str, Counts]

    @property
    def per_attribute(self) -> dict[str, PRF]:
        return {name: c.prf() for name, c in self.counts.items()}

    @property
    def micro(self) -> PRF:
        """P/R/F1 of the counts summed over all attributes."""
        return sum(self.counts.values(), Counts(0, 0, 0)).prf()

    @property
    def macro_f1(self) -> float:
        """Unweighted mean of the per-attribute F1 (0.0 when there are no attributes)."""
        return sum(p.f1 for p in self.per_attribute.values()) / len(self.counts) if self.counts else 0.0


def slot_scores(
    predictions: Iterable[Mapping | str | None],
    references: Iterable[Mapping | str],
    attributes: Iterable[str] | None = None,
) -> SlotScores:
    """Slot-filling precision / recall / F1 per attribute, comparing a predicted dict with the reference dict.

    Convention, per record and attribute a, with p = normalize_value(pred.get(a)) and
    r = normalize_value(ref.get(a)) (a missing key is None, i.e. "no value"):

        p is None,     r is None      → nothing counted (correctly left empty)
        p not None,    r is None      → FP   (a value the record does not have)
        p is None,     r not None     → FN   (a value missed)
        p == r,        both not None  → TP
        p != r,        both not None  → FP and FN (a wrong value costs precision and recall)

    P = TP / (TP + FP), R = TP / (TP + FN), F1 = 2·P·R / (P + R), each 0.0 on a zero denominator;
    `micro` sums the counts over attributes first. Attributes scored are `attributes` if given
    (other keys are ignored), else every key seen in either side, so invented keys cost precision.
    A prediction that is None, unparseable JSON text or not an object fills no slot.
    """
    preds, refs = paired(predictions, references)
    pred_records = [_record(p, i, "predictions") for i, p in enumerate(preds)]
    ref_records = [_record(r, i, "references") for i, r in enumerate(refs)]
    if attributes is None:
        names = list(dict.fromkeys(k for rec in [*ref_records, *pred_records] for k in rec))
    else:
        names = list(dict.fromkeys(attributes))
    counts = {}
    for name in names:
        tp = fp = fn = 0
        for pred, ref in zip(pred_records, ref_records):
            p, r = normalize_value(pred.get(name)), normalize_value(ref.get(name))
            if p is not None and r is not None and p == r:
                tp += 1
            else:
                fp += p is not None
                fn += r is not None
        counts[name] = Counts(tp, fp, fn)
    return SlotScores(counts)
