"""LLM-as-judge: any `TaskModel` grades an output 1-5 against a rubric, as JSON {"score", "reason"}.

The request is constrained to that JSON schema (local engines obey it; an upstream that ignores it is
parsed leniently: the first JSON object in its text). A verdict that still does not parse, or whose
score is not an integer 1-5, is a `Verdict` with score None and the problem in `error`; it is counted
(`judge_invalid`) and left out of the mean, never a crash. Metric `judge` = mean of the valid scores.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass

from tunelab.engine.types import Constraint
from tunelab.tasks.model import TaskModel, TaskModelError

VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
        "reason": {"type": "string"},
    },
    "required": ["score", "reason"],
    "additionalProperties": False,
}
VERDICT_CONSTRAINT = Constraint(kind="json_schema", schema=VERDICT_SCHEMA)

DEFAULT_RUBRICS = {
    "classify": (
        "Judge whether the predicted product category fits the product. 5: the same category as the reference "
        "or an equally correct one; 4: the right branch, one level too general or too specific; 3: a related "
        "category; 2: the right top-level department only; 1: wrong."
    ),
    "extract": (
        "Judge the extracted attribute values against the product text and the reference values. 5: every "
        "value correct and nothing invented; 4: one small slip; 3: about half right; 2: mostly wrong or "
        "missing; 1: wrong, invented or not usable."
    ),
    "qa": (
        "Judge the answer to the shopper's question against the review snippets it cites and the reference "
        "answer; faithfulness first: a claim no cited snippet states is unsupported, however plausible. 5: correct "
        "and every claim is stated in the snippets it cites (or it rightly says the snippets do not answer); "
        "4: supported but incomplete; 3: partly supported; 2: mostly unsupported or wrong; 1: invented, or "
        "cites snippets that say nothing about it."
    ),
}
GENERIC_RUBRIC = "Judge how well the output fulfils the task compared with the reference. 5: as good as the reference; 1: wrong."

SYSTEM = (
    "You are a strict evaluator. Read the rubric, the task input, the reference and the candidate output, "
    "then reply with JSON only: {\"score\": <integer 1-5>, \"reason\": \"<one short sentence>\"}."
)


@dataclass
class Verdict:
    score: int | None  # 1..5, None when the judge's reply was unusable
    reason: str
    raw: str
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def default_rubric(task: str) -> str:
    return DEFAULT_RUBRICS.get(task, GENERIC_RUBRIC)


def judge_messages(rubric: str, task_input: str, reference: str, output: str) -> list[dict]:
    """The chat the judge answers."""
    user = (f"Rubric:\n{rubric.strip()}\n\nTask input:\n{task_input.strip()}\n\nReference:\n{reference.strip()}\n\n"
            f"Candidate output:\n{output.strip() or '(empty)'}\n\nYour verdict as JSON:")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


_OBJECT = re.compile(r"\{.*?\}", re.DOTALL)


def parse_verdict(raw: str) -> Verdict:
    """The verdict in `raw`: the whole text as JSON, else its first parseable {...} object."""
    candidates = [raw.strip()] + [m.group(0) for m in _OBJECT.finditer(raw)]
    data = None
    for text in candidates:
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            data = value
            break
    if data is None:
        return Verdict(None, "", raw, "the judge's reply holds no JSON object")
    score = data.get("score")
    if isinstance(score, float) and score.is_integer():
        score = int(score)
    if isinstance(score, str) and score.strip().isdigit():
        score = int(score.strip())
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        return Verdict(None, str(data.get("reason", "")), raw, f"score {data.get('score')!r} is not an integer from 1 to 5")
    return Verdict(score, str(data.get("reason", "")), raw)


async def judge_one(judge: TaskModel, rubric: str, task_input: str, reference: str, output: str,
                    *, max_tokens: int = 128) -> Verdict:
    """One verdict; a judge model that fails (upstream down) gives an invalid verdict, not an exception."""
    try:
        raw = await judge.complete(judge_messages(rubric, task_input, reference, output), max_tokens=max_tokens,
                                   constraint=VERDICT_CONSTRAINT)
    except TaskModelError as exc:
        return Verdict(None, "", "", f"the judge failed: {exc}")
    return parse_verdict(raw)


def judge_metrics(verdicts: list[Verdict]) -> dict[str, float]:
    """`judge`: mean valid score (NaN when none is valid); `judge_invalid`: how many verdicts were unusable."""
    scores = [v.score for v in verdicts if v.score is not None]
    return {"judge": sum(scores) / len(scores) if scores else math.nan,
            "judge_invalid": float(len(verdicts) - len(scores))}
