"""Write an `EvalResult` as files a person and a program can read: report.html (self-contained: metrics
table with the best value bold and deltas against the baseline, matplotlib charts embedded as base64
PNG, per-label breakdowns, examples side by side and where the models disagree), report.json
(`EvalResult.to_dict`, NaN written as null) and examples.jsonl (one example per line).

Everything taken from data is HTML-escaped by the template engine (autoescape on)."""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tunelab.eval import plots
from tunelab.eval.results import EvalResult, higher_is_better, json_safe

TEMPLATES = Path(__file__).parent / "templates"
MAX_CELL_CHARS = 600  # long inputs are cut in the HTML table (examples.jsonl keeps them whole)
MAX_BREAKDOWN_ROWS = 30


def _dumps(value: Any, **kw: Any) -> str:
    return json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False, default=str, **kw)


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if float(value).is_integer() and abs(value) >= 1:
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.2f}"
    return f"{value:.4f}"


def _cut(text: Any, limit: int = MAX_CELL_CHARS) -> str:
    text = text if isinstance(text, str) else _dumps(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _best(values: list[float], higher: bool) -> float | None:
    """The best finite value; None when there is none or all are equal (nothing stands out)."""
    finite = [v for v in values if not math.isnan(v)]
    if len(set(finite)) < 2:
        return None
    return max(finite) if higher else min(finite)


def _metric_rows(result: EvalResult) -> tuple[list[str], list[dict]]:
    names = result.metric_names()
    best = {m: _best([result.value(model, m) for model in result.models], higher_is_better(m)) for m in names}
    rows = []
    for i, model in enumerate(result.models):
        cells = []
        for m in names:
            v = result.value(model, m)
            cell = {"metric": m, "value": _fmt(v), "raw": "" if math.isnan(v) else repr(v),
                    "best": best[m] is not None and v == best[m],
                    "delta": "", "delta_class": ""}
            base = result.value(result.baseline, m)
            if i > 0 and not math.isnan(v) and not math.isnan(base):
                d = v - base
                cell["delta"] = f"{d:+.4f} vs baseline"
                better = d > 0 if higher_is_better(m) else d < 0
                cell["delta_class"] = "" if d == 0 else ("up" if better else "down")
            cells.append(cell)
        rows.append({"model": model, "cells": cells})
    return names, rows


def _score_text(scores: dict[str, Any]) -> str:
    parts = []
    for k, v in (scores or {}).items():
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, (int, float)):
            parts.append(f"{k} {float(v):.3g}")
    return " · ".join(parts)


def _example_view(ex: dict[str, Any], models: list[str]) -> dict[str, Any]:
    outs = []
    for m in models:
        out = (ex.get("outputs") or {}).get(m) or {}
        correct = out.get("correct")
        outs.append({"text": _cut(out.get("text", "")), "error": out.get("error"),
                     "mark": "" if correct is None else ("ok" if correct else "miss"),
                     "scores": _score_text((ex.get("scores") or {}).get(m, {}))})
    ref = ex.get("reference_text", ex.get("reference", ""))
    return {"id": str(ex.get("id", "")), "input": _cut(ex.get("input", "")), "reference": _cut(ref),
            "outputs": outs, "disagree": disagree(ex, models)}


def disagree(example: dict[str, Any], models: list[str]) -> bool:
    """True when the models' shown outputs differ (an error counts as an output of its own)."""
    shown = set()
    for m in models:
        out = (example.get("outputs") or {}).get(m) or {}
        shown.add(("error", out["error"]) if out.get("error") else ("text", out.get("key", out.get("text"))))
    return len(shown) > 1


def _breakdowns(result: EvalResult) -> list[dict[str, Any]]:
    views = []
    for name, table in result.breakdowns.items():
        labels, support = table.get("labels", []), table.get("support", [])
        rows = []
        for j, label in enumerate(labels[:MAX_BREAKDOWN_ROWS]):
            values = [float((table["values"].get(m) or [math.nan] * len(labels))[j]) for m in result.models]
            top = _best(values, True)
            rows.append({"label": str(label), "support": support[j] if j < len(support) else "",
                         "cells": [{"value": _fmt(v), "best": top is not None and v == top}
                                   for v in values]})
        note = table.get("note", "")
        if len(labels) > MAX_BREAKDOWN_ROWS:
            note = f"{note} The {MAX_BREAKDOWN_ROWS} most frequent of {len(labels)} shown; all are in report.json.".strip()
        views.append({"title": table.get("title", name), "label_name": table.get("label_name", "label"),
                      "note": note, "rows": rows})
    return views


def _charts(result: EvalResult) -> list[dict[str, str]]:
    charts = []
    for title, png in (("Metrics by model", plots.metrics_chart(result)),
                       ("Other metrics", plots.other_metrics_chart(result)),
                       ("Difference from the baseline", plots.delta_chart(result))):
        if png:
            charts.append({"title": title, "data": base64.b64encode(png).decode("ascii")})
    for name, table in result.breakdowns.items():
        png = plots.breakdown_chart(result, name)
        if png:
            charts.append({"title": table.get("title", name), "data": base64.b64encode(png).decode("ascii")})
    return charts


def render_html(result: EvalResult, *, max_examples: int = 50) -> str:
    """The report page as one string (charts inlined)."""

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    names, rows = _metric_rows(result)
    views = [_example_view(ex, result.models) for ex in result.examples]
    disagreements = [v for v in views if v["disagree"]]
    context = {
        "task": result.task, "split": result.split, "run_id": result.run_id, "models": result.models,
        "baseline": result.baseline, "duration_s": float(result.duration_s or 0.0),
        "created": result.params.get("created_at") or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "n_examples": len(result.examples), "gates": result.gates, "metric_names": names, "metric_rows": rows,
        "charts": _charts(result), "breakdowns": _breakdowns(result), "shown": views[:max_examples],
        "disagreements": disagreements[:max_examples], "n_disagree": len(disagreements),
        "params_json": _dumps(result.params, indent=2, sort_keys=True),
    }
    return env.get_template("report.html").render(**context)


def write_report(result: EvalResult, out_dir: str | Path, *, max_examples: int | None = None) -> dict[str, Path]:
    """Write report.html, report.json and examples.jsonl into `out_dir` (created); returns their paths.
    `max_examples`: examples shown in the HTML (default: params['report_examples'] or 50)."""
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    if max_examples is None:
        max_examples = int(result.params.get("report_examples", 50) or 0)
    paths = {"html": out / "report.html", "json": out / "report.json", "examples": out / "examples.jsonl"}
    paths["json"].write_text(_dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    with paths["examples"].open("w", encoding="utf-8") as f:
        for ex in result.examples:
            f.write(_dumps(ex) + "\n")
    paths["html"].write_text(render_html(result, max_examples=max_examples), encoding="utf-8")
    return paths
