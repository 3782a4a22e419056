"""Run an evaluation: every model over every example of a split at temperature 0, side by side.

`run_eval(config, settings, store, progress=None)` checks the gates' syntax and metric names and the
prediction files first, then opens the models (`open_task_models`: one engine per base model shared
by its adapters, so base and adapter requests batch together), runs all model×example items
concurrently (at most `config.concurrency` in flight per model), optionally has a judge grade every
output, scores with `tunelab.eval.metrics`, checks the gates, writes the report and records the run in
the store (status running → completed, or failed with the error). `task: retrieval` is handed to
`tunelab.eval.retrieval.run_retrieval_eval` and then gated, reported and stored the same way.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tunelab.eval import retrieval
from tunelab.eval.config import EvalConfig
from tunelab.eval.gate import check_gates, check_metrics_known, parse_gate
from tunelab.eval.judge import default_rubric, judge_metrics, judge_one
from tunelab.eval.predictions import load_predictions
from tunelab.eval.progress import ProgressFn
from tunelab.eval.report import write_report
from tunelab.eval.results import EvalResult, build_result
from tunelab.eval.retrieval import run_retrieval_eval
from tunelab.eval.runs import fail_run, new_run_id, save_run, start_run
from tunelab.eval.tasks import Example, get_task
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.tasks.local import open_task_models
from tunelab.tasks.model import TaskModel, TaskModelError


class _Counter:
    """Counts finished items and reports them to the progress callback."""

    def __init__(self, total: int, progress: ProgressFn | None) -> None:
        self.done, self.total, self.progress = 0, total, progress
        self.tick(0)

    def tick(self, n: int = 1) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, self.total)


async def _run_model(model: TaskModel, examples: list[Example], module, ctx, limit: int,
                     counter: _Counter) -> list[dict[str, Any]]:
    """One model's outputs, in example order. A model failure on one example (context too short, an
    upstream error) is recorded on that example, not raised."""
    gate = asyncio.Semaphore(limit)

    async def one(ex: Example) -> dict[str, Any]:
        async with gate:
            try:
                out = await module.predict(model, ex, ctx)
            except TaskModelError as exc:
                out = module.failed_output(str(exc))
        counter.tick()
        return out

    return list(await asyncio.gather(*(one(ex) for ex in examples)))


async def _judge_all(judge: TaskModel, rubric: str, max_tokens: int, examples: list[Example],
                     outputs: dict[str, list[dict]], module, limit: int, counter: _Counter) -> dict[str, list]:
    gate = asyncio.Semaphore(limit)

    async def one(ex: Example, out: dict[str, Any]):
        async with gate:
            task_input, reference, shown = module.judge_view(ex, out)
            verdict = await judge_one(judge, rubric, task_input, reference, shown, max_tokens=max_tokens)
        counter.tick()
        return verdict

    verdicts = {}
    for column, outs in outputs.items():
        verdicts[column] = await asyncio.gather(*(one(ex, out) for ex, out in zip(examples, outs)))
    return verdicts


def _add_judgements(result: EvalResult, verdicts: dict[str, list], judge_name: str) -> None:
    for column, items in verdicts.items():
        result.metrics[column].update(judge_metrics(items))
        for row, verdict in zip(result.examples, items):
            row["outputs"][column]["judge"] = verdict.to_dict()
            if verdict.score is not None:
                row["scores"][column]["judge"] = float(verdict.score)
    result.params["judge_model"] = judge_name


# settings that only one task reads: left out of the other tasks' reports
_TASK_FIELDS = {"classify": {"k", "candidates", "taxonomy", "knn_candidates", "bm25_candidates", "length_normalized",
                             "ranking", "catalogue"}, "extract": {"attributes"},
                "retrieval": {"collection", "modes", "rerank"}}


def _params(config: EvalConfig, out: Path, n_examples: int) -> dict[str, Any]:
    foreign = set().union(*(f for task, f in _TASK_FIELDS.items() if task != config.task))
    if config.task == "retrieval":
        foreign -= {"k"}  # retrieval reads k too (its recall@k cut-off)
    params = config.model_dump(mode="json", exclude=foreign)
    params.update(out=str(out), examples=n_examples, created_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    return params


async def _run_task(config: EvalConfig, settings: Settings, store: Store, run_id: str, out: Path,
                    progress: ProgressFn | None) -> EvalResult:

    module = get_task(config.task)
    examples = module.load_examples(config)
    started = time.monotonic()
    ctx = await module.prepare(config, settings, with_models=bool(config.models))
    from_files = {Path(p).stem: load_predictions(p, examples, config.task, ctx) for p in config.predictions}
    rubric = (config.judge.rubric_text() or default_rubric(config.task)) if config.judge else None
    start_run(store, run_id, config.task, config.split, config.columns, _params(config, out, len(examples)))
    try:
        specs = list(config.models) + ([config.judge.model] if config.judge else [])
        verdicts = {}
        async with open_task_models(specs, settings, store, precision=config.precision) as opened:
            models = opened[: len(config.models)]
            total = len(examples) * (len(models) + (len(config.columns) if config.judge else 0))
            counter = _Counter(total, progress)
            results = await asyncio.gather(*(_run_model(m, examples, module, ctx, config.concurrency, counter)
                                             for m in models))
            outputs = {**dict(zip(config.models, results)), **from_files}
            outputs = {c: outputs[c] for c in config.columns}
            if config.judge:
                verdicts = await _judge_all(opened[-1], rubric, config.judge.max_tokens, examples, outputs, module,
                                            config.concurrency, counter)
        scores = module.score(examples, outputs, ctx)
        result = build_result(config.task, config.split, config.columns, examples, outputs, scores,
                              params=_params(config, out, len(examples)), duration_s=time.monotonic() - started,
                              run_id=run_id)
        if config.judge:
            _add_judgements(result, verdicts, config.judge.model)
            result.params["judge_rubric"] = rubric
        errors = {c: sum(1 for o in outputs[c] if o.get("error")) for c in config.columns}
        if any(errors.values()):
            result.params["errors"] = errors
        return result
    except BaseException as exc:
        fail_run(store, run_id, f"{type(exc).__name__}: {exc}", time.monotonic() - started)
        raise


async def _run_retrieval(config: EvalConfig, settings: Settings, store: Store, run_id: str, out: Path,
                         progress: ProgressFn | None) -> EvalResult:

    started = time.monotonic()
    start_run(store, run_id, config.task, config.split, config.columns, _params(config, out, 0))
    try:
        result = run_retrieval_eval(config, settings, store, progress=progress)
        if inspect.isawaitable(result):
            result = await result
    except BaseException as exc:
        fail_run(store, run_id, f"{type(exc).__name__}: {exc}", time.monotonic() - started)
        raise
    result.run_id = run_id
    result.params = {**_params(config, out, len(result.examples)), **result.params}
    return result


async def run_eval(config: EvalConfig, settings: Settings, store: Store, *,
                   progress: ProgressFn | None = None) -> EvalResult:
    """Run, score, gate, report and store one evaluation; returns the result (`result.gates` holds
    the gate outcomes, `result.params['out']` the report folder)."""
    gates = [parse_gate(g) for g in config.gate]  # syntax errors before any model loads
    expected = _expected_metrics(config)
    if expected is not None:
        check_metrics_known(gates, expected)
    run_id = new_run_id(config.task)
    out = Path(config.out).expanduser() if config.out else settings.home / "evals" / run_id
    if config.task == "retrieval":
        result = await _run_retrieval(config, settings, store, run_id, out, progress)
    else:
        result = await _run_task(config, settings, store, run_id, out, progress)
    return finish(result, gates, store, out)


def _expected_metrics(config: EvalConfig) -> list[str] | None:
    """The metrics the run will report, known before it starts (None: not known in advance)."""
    if config.task == "retrieval":
        if config.judge:  # faithfulness metrics join the last column: checked after the run
            return None

        return list(retrieval.metric_names(config))
    names = list(get_task(config.task).metric_names(config))
    if config.judge:
        names += ["judge", "judge_invalid"]
    return names


def finish(result: EvalResult, gates: list, store: Store, out: Path) -> EvalResult:
    """Check the gates, write the report into `out` and store the run as completed."""

    try:
        result.gates = [o.to_dict() for o in check_gates(result, gates)]
        result.params["out"] = str(out)
        write_report(result, out)
    except BaseException as exc:
        if result.run_id:
            fail_run(store, result.run_id, f"{type(exc).__name__}: {exc}", result.duration_s)
        raise
    save_run(store, result, report_dir=str(out))
    return result
