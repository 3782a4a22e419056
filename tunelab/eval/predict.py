"""Batch inference over a dataset file: `run_predict` writes one JSON line per input,
{"id", "prediction", "model"} (plus "error" when the model failed on it), in the form
`tunelab eval --predictions` reads back.

Tasks: classify, extract and qa run as their evaluation does (the same prompts and constraints),
`chat` answers each record's prompt (its messages up to the last answer) with free text. All
requests go to the model at once, up to `concurrency`, so the batching engine batches them. Lines
are appended as answers arrive: a stopped run keeps what it wrote, and a rerun skips the ids the
file already holds (a damaged last line is dropped and redone). A file whose ids do not belong to
the dataset is refused, naming the line.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunelab.data.errors import DatasetError
from tunelab.data.loader import load_dataset
from tunelab.data.records import ChatRecord
from tunelab.eval.config import EvalConfig
from tunelab.eval.tasks import Example, get_task
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.tasks.local import open_task_models
from tunelab.tasks.model import TaskModelError

TASKS = ("classify", "extract", "qa", "chat")
ProgressFn = Callable[[int, int], None]


@dataclass
class PredictSummary:
    out: Path
    total: int
    done_before: int  # found in the file when the run started
    written: int
    errors: int


def chat_examples(path: str, limit: int | None) -> list[Example]:
    """The records of a chat-format file (messages, ShareGPT, Alpaca) as prompts, id = record index."""
    loaded = load_dataset(path)
    examples = []
    for i, record in enumerate(loaded.records[:limit] if limit else loaded.records):
        if not isinstance(record, ChatRecord):
            raise DatasetError(path, f"a {loaded.format} record is not a chat prompt; --task chat reads chat or "
                               "Alpaca records", record=i)
        messages = [{"role": m.role, "content": m.content} for m in record.messages]
        while messages and messages[-1]["role"] == "assistant":  # the prompt: up to the last answer
            messages.pop()
        if not messages:
            raise DatasetError(path, "no prompt before the answer", record=i, field="messages")
        examples.append(Example(id=str(i), input=messages[-1]["content"], reference=None, reference_text="",
                                record=messages))
    return examples


def done_ids(out: Path, known: set[str]) -> set[str]:
    """The ids the file already answers; drops a damaged last line (a run stopped mid-write)."""
    if not out.exists():
        return set()
    lines = out.read_text(encoding="utf-8").split("\n")
    done, kept = set(), []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            if number >= len(lines) - 1:  # the last line, cut short: redo it
                break
            raise DatasetError(str(out), "not valid JSON: this file was not written by tunelab predict", line=number) from None
        rid = str(row.get("id")) if isinstance(row, dict) else None
        if rid not in known:
            raise DatasetError(str(out), f"id {rid!r} is not in the dataset: this predictions file belongs to another "
                               "dataset (choose another --out)", line=number, field="id")
        done.add(rid)
        kept.append(line)
    out.write_text("".join(k + "\n" for k in kept), encoding="utf-8")
    return done


async def run_predict(config: EvalConfig | None, data: str, model: str, out: Path, settings: Settings, store: Store,
                      *, task: str, limit: int | None = None, max_tokens: int = 256, concurrency: int = 32,
                      progress: ProgressFn | None = None) -> PredictSummary:
    """Predict every input of `data` with `model`; `config` carries the task's settings (split, limit,
    taxonomy, k, attributes...) for classify, extract and qa; `limit` is chat's (the others' is in `config`)."""
    if task not in TASKS:
        raise ValueError(f"Unknown task '{task}': choose one of {', '.join(TASKS)}.")
    module = None if task == "chat" else get_task(task)
    if module is None:
        examples = chat_examples(data, limit)
        ctx = None
    else:
        examples = module.load_examples(config)
        ctx = await module.prepare(config, settings, with_models=True)
    known = {ex.id for ex in examples}
    out.parent.mkdir(parents=True, exist_ok=True)
    done = done_ids(out, known)
    todo = [ex for ex in examples if ex.id not in done]
    summary = PredictSummary(out, len(examples), len(done), 0, 0)
    if progress:
        progress(len(done), len(examples))
    if not todo:
        return summary
    gate = asyncio.Semaphore(concurrency)
    async with open_task_models([model], settings, store) as (task_model,):
        with out.open("a", encoding="utf-8") as f:

            async def one(ex: Example) -> None:
                async with gate:
                    line: dict[str, Any] = {"id": ex.id, "model": model}
                    try:
                        if module is None:
                            line["prediction"] = await task_model.complete(ex.record, max_tokens=max_tokens)
                        else:
                            line["prediction"] = module.to_prediction(await module.predict(task_model, ex, ctx))
                    except TaskModelError as exc:
                        summary.errors += 1
                        line["prediction"] = "" if module is None else module.to_prediction(module.failed_output(str(exc)))
                        line["error"] = str(exc)
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
                f.flush()
                summary.written += 1
                if progress:
                    progress(len(done) + summary.written, len(examples))

            await asyncio.gather(*(one(ex) for ex in todo))
    return summary
