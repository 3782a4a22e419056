"""Faithfulness of grounded answers: each question is answered over a collection (`tunelab.rag.answer.ask`,
the answers users get), then a judge model grades, 1-5 with constrained JSON (`tunelab.eval.judge`),
whether every claim of the answer is supported by the sources it cites.

Per answer: not judged when the answer says the sources do not hold it (counted by `answered`); score 1
without asking the judge when it cites nothing (an uncited claim is unsupported by definition).
Metrics: `faithfulness` = share of judged answers scored 4 or 5 (supported), `faithfulness_judge` =
their mean score 1-5, `faithfulness_invalid` = verdicts the judge botched (left out of both),
`answered` = share of questions answered."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tunelab.eval.judge import Verdict, judge_one
from tunelab.rag.answer import CitedAnswer, ask
from tunelab.tasks.model import TaskModel, TaskModelError

SUPPORTED = 4  # a judge score at or above this counts as supported
FAITHFULNESS_RUBRIC = (
    "Judge only whether the candidate answer is supported by the cited sources given as the reference, "
    "not whether it is complete or what you know yourself. 5: every claim is stated in the cited sources; "
    "4: supported, with a harmless rewording or inference; 3: partly supported, something is added; "
    "2: mostly unsupported; 1: contradicts the sources, or cites sources that say nothing about it.")
NO_CITATION = "the answer cites no source"


@dataclass
class FaithfulnessItem:
    question: str
    answer: CitedAnswer | None  # None when answering failed (the error says why)
    verdict: Verdict | None  # None when not judged (unanswerable, or answering failed)
    error: str | None = None

    @property
    def supported(self) -> float | None:
        """1.0 / 0.0 for a judged answer, None otherwise."""
        if self.verdict is None or self.verdict.score is None:
            return None
        return float(self.verdict.score >= SUPPORTED)

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "answer": None if self.answer is None else self.answer.to_dict(),
                "verdict": None if self.verdict is None else self.verdict.to_dict(), "supported": self.supported,
                "error": self.error}


def cited_text(answer: CitedAnswer) -> str:
    """The sources an answer cites, numbered as the answerer saw them: what the judge checks it against."""
    return "\n\n".join(f"[{c.index}] {c.text or c.snippet}" for c in answer.citations)


async def judge_faithfulness(answer: CitedAnswer, judge: TaskModel, *, rubric: str = FAITHFULNESS_RUBRIC,
                             max_tokens: int = 128) -> Verdict | None:
    """The judge's verdict on one answer; None for an answer that declines (nothing to judge)."""
    if not answer.answerable:
        return None
    if not answer.citations:
        return Verdict(1, NO_CITATION, "")
    return await judge_one(judge, rubric, f"Question: {answer.question}", cited_text(answer), answer.answer,
                           max_tokens=max_tokens)


def faithfulness_metrics(items: Sequence[FaithfulnessItem]) -> dict[str, float]:
    """The metrics of the module docstring (NaN where nothing was judged)."""
    judged = [i.verdict for i in items if i.verdict is not None]
    valid = [v.score for v in judged if v.score is not None]
    answered = [i for i in items if i.answer is not None]
    return {
        "faithfulness": sum(s >= SUPPORTED for s in valid) / len(valid) if valid else math.nan,
        "faithfulness_judge": sum(valid) / len(valid) if valid else math.nan,
        "faithfulness_invalid": float(len(judged) - len(valid)),
        "answered": sum(i.answer.answerable for i in answered) / len(answered) if answered else math.nan,
    }


async def evaluate_faithfulness(questions: Sequence[str], *, searcher: Any, answerer: TaskModel, judge: TaskModel,
                                k: int = 5, mode: str = "hybrid", reranker: Any = None,
                                rubric: str = FAITHFULNESS_RUBRIC, max_tokens: int = 128, concurrency: int = 8,
                                progress: Callable[[int], None] | None = None) -> list[FaithfulnessItem]:
    """Answer and judge every question (up to `concurrency` at once), in order. A model failure on
    one question is recorded on it, not raised. `progress(n)` is called as each one finishes."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(question: str) -> FaithfulnessItem:
        async with gate:
            try:
                answer = await ask(question, searcher=searcher, model=answerer, k=k, mode=mode, reranker=reranker)
            except TaskModelError as exc:
                item = FaithfulnessItem(question, None, None, str(exc))
            else:
                verdict = await judge_faithfulness(answer, judge, rubric=rubric, max_tokens=max_tokens)
                item = FaithfulnessItem(question, answer, verdict)
        if progress is not None:
            progress(1)
        return item

    return list(await asyncio.gather(*(one(q) for q in questions)))
