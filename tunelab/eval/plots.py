"""Charts of an `EvalResult` as PNG bytes (matplotlib, Agg backend: no display needed), for the report
to embed as base64: metrics side by side per model, deltas against the baseline, and per-label
breakdowns (per-class or per-attribute F1). Each returns None when there is nothing to draw."""

from __future__ import annotations

import io
import math

from tunelab.eval.results import EvalResult

MAX_LABELS = 20  # bars per breakdown chart: the most frequent labels


def _pyplot():
    import matplotlib  # lazy: matplotlib is slow to import

    matplotlib.use("Agg", force=True)  # before pyplot: never try to open a window
    import matplotlib.pyplot as plt  # lazy: matplotlib is slow to import

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def _grouped(ax, groups: list[str], series: dict[str, list[float]]) -> None:
    """Bars: one group per entry of `groups`, one bar per series (model) in each."""
    n = max(len(series), 1)
    width = 0.8 / n
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, [0.0 if math.isnan(v) else v for v in values], width, label=name)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=30, ha="right")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _unit_metrics(result: EvalResult) -> list[str]:
    """Metrics on a 0-1 scale (rates, F1s): everything whose values all lie in [0, 1]."""
    out = []
    for metric in result.metric_names():
        values = [result.value(m, metric) for m in result.models]
        finite = [v for v in values if not math.isnan(v)]
        if finite and all(0.0 <= v <= 1.0 for v in finite) and not metric.endswith("_invalid"):
            out.append(metric)
    return out


def metrics_chart(result: EvalResult) -> bytes | None:
    """Grouped bars of every 0-1 metric, one bar per model."""
    metrics = _unit_metrics(result)
    if not metrics:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(metrics) * max(1, len(result.models)) ** 0.5 + 2), 3.8))
    _grouped(ax, metrics, {m: [result.value(m, k) for k in metrics] for m in result.models})
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title(f"{result.task} on {result.split}: metrics by model")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(fig)


def other_metrics_chart(result: EvalResult) -> bytes | None:
    """One small panel per metric not on a 0-1 scale (e.g. the judge's 1-5 mean), one bar per model."""
    unit = set(_unit_metrics(result))
    metrics = [m for m in result.metric_names() if m not in unit]
    if not metrics:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.6 * len(metrics) + 1, 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        values = [result.value(m, metric) for m in result.models]
        ax.bar(range(len(values)), [0.0 if math.isnan(v) else v for v in values],
               color=[f"C{i}" for i in range(len(values))])
        ax.set_xticks(range(len(values)))
        ax.set_xticklabels(result.models, rotation=30, ha="right", fontsize=8)
        finite = [v for v in values if not math.isnan(v)]
        ax.set_ylim(0, max([1.0, *finite]) * 1.1)  # bars start at 0, even when every value is 0
        ax.set_title(metric, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def delta_chart(result: EvalResult) -> bytes | None:
    """Each candidate's difference from the baseline on every 0-1 metric (positive: better)."""
    if len(result.models) < 2:
        return None
    metrics = _unit_metrics(result)
    if not metrics:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(metrics) + 2), 3.4))
    series = {m: [result.value(m, k) - result.value(result.baseline, k) for k in metrics] for m in result.models[1:]}
    _grouped(ax, metrics, series)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel(f"minus {result.baseline}")
    ax.set_title("difference from the baseline")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(fig)


def breakdown_chart(result: EvalResult, name: str) -> bytes | None:
    """Grouped bars of one breakdown (e.g. per-class F1) for its MAX_LABELS first labels."""
    table = result.breakdowns.get(name)
    if not table or not table.get("labels"):
        return None
    labels = [str(label) for label in table["labels"][:MAX_LABELS]]
    short = [label if len(label) <= 28 else "…" + label[-27:] for label in labels]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(labels) + 2), 4.2))
    _grouped(ax, short, {m: list(table["values"].get(m, []))[:MAX_LABELS] for m in result.models})
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(table.get("metric", "value"))
    ax.set_title(table.get("title", name))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(fig)
