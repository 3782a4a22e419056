"""The optional last curate step: a model grades every record 1-5 against a rubric (the eval judge,
`tunelab.eval.judge`, constrained to {"score", "reason"}), and records below the threshold go. A
record whose verdict is unusable is kept and counted; a judge that gave no usable verdict at all
stops the curate run (it would otherwise keep everything unseen)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from tunelab.data.record_text import question_answer
from tunelab.data.records import Record
from tunelab.datagen.errors import DatagenError
from tunelab.eval.judge import Verdict, judge_one
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.tasks.local import open_task_models

DATA_RUBRIC = (
    "Judge this training example for an assistant: the task input is what the user asked, the candidate "
    "output is the assistant's answer. 5: a correct, specific and helpful answer to exactly what was asked; "
    "4: correct but thin or slightly off; 3: partly correct or vague; 2: mostly wrong, off-topic or unhelpful; "
    "1: wrong, nonsense, empty or in another language."
)
NO_REFERENCE = "(none: judge the answer on its own)"


@dataclass
class Judged:
    verdicts: dict[int, Verdict]  # record index -> verdict

    def below(self, threshold: float) -> dict[int, Verdict]:
        return {i: v for i, v in self.verdicts.items() if v.score is not None and v.score < threshold}

    def unusable(self) -> dict[int, Verdict]:
        return {i: v for i, v in self.verdicts.items() if v.score is None}


async def judge_records(records: dict[int, Record], spec: str, rubric: str | None, settings: Settings, store: Store,
                        *, max_tokens: int = 128, concurrency: int = 8,
                        tick: Callable[[], None] | None = None) -> Judged:
    """A verdict for every record (by index); DatagenError when none of them is usable."""
    gate = asyncio.Semaphore(concurrency)
    text = rubric or DATA_RUBRIC

    async def one(judge, record: Record) -> Verdict:
        question, answer = question_answer(record)
        async with gate:
            verdict = await judge_one(judge, text, question or "(no question)", NO_REFERENCE, answer,
                                      max_tokens=max_tokens)
        if tick is not None:
            tick()
        return verdict

    async with open_task_models([spec], settings, store) as [judge]:
        indices = list(records)
        verdicts = await asyncio.gather(*(one(judge, records[i]) for i in indices))
    judged = Judged(dict(zip(indices, verdicts)))
    if verdicts and len(judged.unusable()) == len(verdicts):
        raise DatagenError(f"The judge {spec} gave no usable verdict ({verdicts[0].error}); nothing was written.")
    return judged
