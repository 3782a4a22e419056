"""Evaluate how a model ranks preference pairs (held-out feedback pairs, a DPO dataset's validation
split): for each pair, the length-normalised log-likelihood (mean log-probability per token) of the
chosen and of the rejected answer as the assistant's reply to the prompt.

Metrics: preference_accuracy = the share of pairs where the chosen answer scores strictly higher;
preference_margin = the mean of (chosen − rejected) over the pairs scored. `data` is required: a file
of preference records (any shape `tunelab data` reads; a registered dataset's copy will do).
"""

from __future__ import annotations

from typing import Any

from tunelab.data.errors import FieldError
from tunelab.data.loader import load_dataset
from tunelab.data.records import Message, PreferenceRecord
from tunelab.eval.metrics import preference_accuracy, preference_margin
from tunelab.eval.tasks import Example, Scores, select_split, unique_ids
from tunelab.settings import Settings


def metric_names(config) -> list[str]:
    return ["preference_accuracy", "preference_margin"]


def _reply(messages: list[Message]) -> str:
    """An answer as one reply text (an answer of several assistant messages is joined)."""
    return "\n\n".join(m.content for m in messages)


def load_examples(config) -> list[Example]:
    if not config.data:
        raise ValueError("task preference needs `data`: a file of preference pairs (prompt, chosen, rejected).")
    records = load_dataset(config.data).records
    kinds = sorted({r.kind for r in records} - {"preference"})
    if kinds:
        raise ValueError(f"{config.data} holds {' and '.join(kinds)} records; task preference compares "
                         "preference pairs (prompt, chosen, rejected).")
    chosen: list[PreferenceRecord] = select_split(records, config.split, config.limit, config.data)
    examples = []
    for i, r in enumerate(chosen):
        good, bad = _reply(r.chosen), _reply(r.rejected)
        examples.append(Example(id=f"pair-{i}", input="\n".join(f"{m.role}: {m.content}" for m in r.prompt),
                                reference={"chosen": good, "rejected": bad},
                                reference_text=f"chosen: {good}\nrejected: {bad}", record=r))
    return unique_ids(examples, config.data)


async def prepare(config, settings: Settings, *, with_models: bool = True) -> None:
    return None


def _output(chosen: float | None, rejected: float | None, **extra: Any) -> dict[str, Any]:
    prefers = chosen is not None and rejected is not None and chosen > rejected
    shown = "—" if chosen is None or rejected is None else \
        f"{'chosen' if prefers else 'rejected'} ({chosen:.4f} vs {rejected:.4f} per token)"
    return {"chosen_logp": chosen, "rejected_logp": rejected, "prefers_chosen": prefers, "correct": prefers,
            "key": prefers, "text": shown, **extra}


async def predict(model, example: Example, ctx: None) -> dict[str, Any]:
    r: PreferenceRecord = example.record
    messages = [{"role": m.role, "content": m.content} for m in r.prompt]
    scores = await model.score(messages, [example.reference["chosen"], example.reference["rejected"]], mean=True)
    if scores is None:  # recorded on the example, as a model failure is
        return failed_output(f"{model.name} cannot score log-likelihoods (a remote API); task preference needs a "
                             "local model or adapter.")
    return _output(scores[0], scores[1])


def failed_output(error: str) -> dict[str, Any]:
    return {**_output(None, None, error=error), "key": None}


def parse_prediction(value: Any, example: Example, ctx: None) -> dict[str, Any]:
    """A prediction: {"chosen_logp": number, "rejected_logp": number} (higher: more likely)."""
    if not isinstance(value, dict):
        raise FieldError("prediction", f"expected {{\"chosen_logp\", \"rejected_logp\"}}, got {type(value).__name__}")
    scores = []
    for key in ("chosen_logp", "rejected_logp"):
        v = value.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise FieldError(f"prediction.{key}", f"expected a number, got {v!r}")
        scores.append(float(v))
    return _output(*scores)


def score(examples: list[Example], outputs: dict[str, list[dict]], ctx: None) -> Scores:
    metrics, per_example = {}, {}
    for model, outs in outputs.items():
        chosen, rejected = [o.get("chosen_logp") for o in outs], [o.get("rejected_logp") for o in outs]
        metrics[model] = {"preference_accuracy": preference_accuracy(chosen, rejected),
                          "preference_margin": preference_margin(chosen, rejected)}
        per_example[model] = [
            {} if c is None or r is None else
            {"preference_accuracy": float(c > r), "preference_margin": c - r, "chosen_logp": c, "rejected_logp": r}
            for c, r in zip(chosen, rejected)]
    return Scores(metrics, per_example)


def judge_view(example: Example, output: dict[str, Any]) -> tuple[str, str, str]:
    return example.input, example.reference_text, output.get("text") or ""
