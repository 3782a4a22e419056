"""A user's own predictions as a compared column: a JSONL file with one {"id": ..., "prediction": ...}
per line, matched to the references by id.

The file must cover the references exactly: a line that is not a JSON object, lacks `id` or
`prediction`, repeats an id or names an id the references lack, and a count that differs from the
references', each raise `DatasetError` naming the file, the line and the record id (for a missing
prediction: the first reference id without one). What `prediction` holds is the task's
(`parse_prediction` of tunelab.eval.tasks.*).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tunelab.data.errors import DatasetError, FieldError
from tunelab.eval.results import EvalResult, build_result
from tunelab.eval.tasks import Example, get_task


def _read(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(str(path), f"cannot read the predictions file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DatasetError(str(path), "the predictions file is not UTF-8 text (expected JSON Lines)") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise DatasetError(str(path), f"not valid JSON ({exc})", line=number) from None
        if not isinstance(row, dict):
            raise DatasetError(str(path), f"expected an object {{\"id\": ..., \"prediction\": ...}}, got {type(row).__name__}",
                               line=number)
        for key in ("id", "prediction"):
            if key not in row:
                raise DatasetError(str(path), "missing", line=number, field=key)
        rows.append((number, row))
    return rows


def load_predictions(path: str | Path, examples: list[Example], task: str, ctx: Any) -> list[dict[str, Any]]:
    """The task's output dicts for `examples`, in their order, from the predictions file at `path`."""
    path = Path(path).expanduser()
    module = get_task(task)
    rows = _read(path)
    by_ref = {ex.id: ex for ex in examples}
    found: dict[str, dict[str, Any]] = {}
    for number, row in rows:
        rid = str(row["id"])
        if rid in found:
            raise DatasetError(str(path), f"id {rid!r} has a second prediction (each id needs exactly one)",
                               line=number, field="id")
        if rid not in by_ref:
            raise DatasetError(str(path), f"id {rid!r} is not among the {len(examples)} references "
                               f"(first reference ids: {', '.join(repr(e.id) for e in examples[:3])})",
                               line=number, field="id")
        try:
            found[rid] = module.parse_prediction(row["prediction"], by_ref[rid], ctx)
        except FieldError as exc:
            raise DatasetError(str(path), f"{exc.reason} (id {rid!r})", line=number, field=exc.field) from None
    if len(found) != len(examples):
        missing = [ex.id for ex in examples if ex.id not in found]
        raise DatasetError(str(path), f"{len(found)} predictions for {len(examples)} references; the first reference "
                           f"without a prediction is id {missing[0]!r} ({len(missing)} missing)")
    return [found[ex.id] for ex in examples]


def evaluate_predictions(task: str, predictions_path: str | Path, references: list[Example], ctx: Any, *,
                         name: str | None = None, split: str = "test") -> EvalResult:
    """Score one predictions file against `references` (the task's `Example`s, e.g. from
    `get_task(task).load_examples(config)`; `ctx` from its `prepare`) without running a model."""
    started = time.monotonic()
    column = name or Path(predictions_path).stem
    outputs = {column: load_predictions(predictions_path, references, task, ctx)}
    scores = get_task(task).score(references, outputs, ctx)
    return build_result(task, split, [column], references, outputs, scores, params={"predictions": [str(predictions_path)]},
                        duration_s=time.monotonic() - started)
