"""Evaluate product question answering over review snippets (AmazonQA records).

Metrics: f1 = answerability F1 (positive class: answerable; over records whose is_answerable is
known); fact_recall (the answer states the reference's key: its numbers, else half its content
words), exact_match and token_f1 (SQuAD, best over the record's answers) and citation_precision (the
cited snippets that state the key), on the records whose reference is answerable; rouge_l (ROUGE-L F, best over the record's answers) and bertscore (BERTScore F with the
packaged MiniLM, against the most helpful answer), both on the records whose reference is answerable.
A model that declares a question unanswerable is scored on the text it gave all the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tunelab.data.errors import FieldError
from tunelab.eval.metrics import answerability_f1, bertscore, bertscore_tokens, exact_match, rouge_l, token_f1
from tunelab.eval.metrics.facts import citation_precision, fact_recall, states_fact
from tunelab.eval.tasks import Example, Scores, select_split, unique_ids
from tunelab.models.embeddings import token_embedder
from tunelab.models.torch_threads import run_torch
from tunelab.settings import Settings
from tunelab.tasks.ecommerce.datasets import load_amazonqa, sample_path


@dataclass
class Context:
    embed: Callable | None  # MiniLM token embedder for BERTScore
    answer_mode: str = "auto"  # cited_qa: auto | grounded | free


def metric_names(config) -> list[str]:
    return ["f1", "fact_recall", "exact_match", "token_f1", "citation_precision", "rouge_l", "bertscore"]


def _example_id(record, index: int) -> str:
    return str(record.qid) if record.qid is not None else f"{record.asin}#{index}"


def load_examples(config) -> list[Example]:

    source = config.data or str(sample_path("qa"))
    chosen = select_split(load_amazonqa(source), config.split, config.limit, source)
    examples = []
    for i, r in enumerate(chosen):
        answers = [a.text for a in r.answers]
        reference = {"answerable": r.is_answerable, "answer": r.answer, "answers": answers}
        if r.is_answerable is None:
            shown = f"(answerability unknown) {r.answer or ''}".strip()
        else:
            shown = f"{'answerable' if r.is_answerable else 'unanswerable'}: {r.answer or '(no answer)'}"
        sources = "\n".join(f"[{j}] {s}" for j, s in enumerate(r.review_snippets, start=1))
        examples.append(Example(id=_example_id(r, i), input=f"Q: {r.question}\n{sources}", reference=reference,
                                reference_text=shown, record=r))
    return unique_ids(examples, source)


async def prepare(config, settings: Settings, *, with_models: bool = True) -> Context:

    return Context(await run_torch(token_embedder), answer_mode=getattr(config, "answer_mode", "auto"))


def _output(answer: str, answerable: bool | None, citations: list, raw: str, **extra: Any) -> dict[str, Any]:
    flag = "answerable" if answerable else "unanswerable"
    return {"answer": answer, "answerable": answerable, "citations": list(citations or []), "raw": raw,
            "text": f"{flag}: {answer}", "key": (answerable, answer), **extra}


async def predict(model, example: Example, ctx: Context) -> dict[str, Any]:
    from tunelab.rag.cited_qa import answer_question  # lazy: imports torch (engine.types)

    r = example.record
    a = await answer_question(model, r.question, list(r.review_snippets), record_id=example.id, mode=ctx.answer_mode)
    return _output(a.answer or "", a.answerable, list(a.citations or []), a.raw)


def failed_output(error: str) -> dict[str, Any]:
    out = _output("", False, [], "", error=error)
    out["key"] = None
    return out


def to_prediction(output: dict[str, Any]) -> dict[str, Any]:
    """What a predictions file holds for `output` (read back by `parse_prediction`)."""
    return {"answer": output["answer"], "answerable": bool(output["answerable"]), "citations": output["citations"]}


def parse_prediction(value: Any, example: Example, ctx: Context) -> dict[str, Any]:
    """A prediction: {"answer": str, "answerable": bool, "citations": [...]} or just the answer text
    (answerable then means non-empty)."""
    if isinstance(value, str):
        return _output(value, bool(value.strip()), [], value)
    if not isinstance(value, dict):
        raise FieldError("prediction", f"expected an answer text or an object, got {type(value).__name__}")
    answer = value.get("answer") or ""
    if not isinstance(answer, str):
        raise FieldError("prediction.answer", f"expected text, got {type(answer).__name__}")
    answerable = value.get("answerable", bool(answer.strip()))
    if not isinstance(answerable, bool):
        raise FieldError("prediction.answerable", f"expected true or false, got {answerable!r}")
    return _output(answer, answerable, value.get("citations") or [], str(value))


def _cached(embed: Callable) -> Callable:
    """`embed` that embeds each distinct text once (references are shared by every model)."""
    memo: dict[str, Any] = {}

    def run(texts: list[str]) -> list:
        todo = list(dict.fromkeys(t for t in texts if t not in memo))
        if todo:
            memo.update(zip(todo, embed(todo)))
        return [memo[t] for t in texts]

    return run


def score(examples: list[Example], outputs: dict[str, list[dict]], ctx: Context) -> Scores:

    known = [i for i, ex in enumerate(examples) if ex.reference["answerable"] is not None]
    answerable = [i for i, ex in enumerate(examples) if ex.reference["answerable"] and ex.reference["answers"]]
    ref_flags = [examples[i].reference["answerable"] for i in known]
    embed = _cached(ctx.embed) if ctx.embed else None
    metrics, per_example = {}, {}
    per_class: dict[str, list[float]] = {}
    for model, outs in outputs.items():
        flags = [bool(o.get("answerable")) for o in outs]
        rows: list[dict[str, float]] = [{} for _ in outs]
        rouge = bert = facts = em = tf1 = cites = math.nan
        if answerable:
            preds = [outs[i].get("answer") or "" for i in answerable]
            alternatives = [examples[i].reference["answers"] for i in answerable]
            best = [examples[i].reference["answer"] for i in answerable]
            rouge = rouge_l(preds, alternatives)
            facts, em, tf1 = fact_recall(preds, best), exact_match(preds, alternatives), token_f1(preds, alternatives)
            cites = citation_precision([outs[i].get("citations") or [] for i in answerable],
                                       [list(examples[i].record.review_snippets) for i in answerable], best)
            for i, p, b in zip(answerable, preds, best):
                rows[i]["fact_recall"] = float(states_fact(p, b))
            for i, p, alts in zip(answerable, preds, alternatives):
                rows[i]["rouge_l"] = rouge_l([p], [alts])
            if embed is not None:
                bert = bertscore(preds, best, embed).f1
                for i, p, b in zip(answerable, preds, best):
                    cand, ref = embed([p, b])
                    rows[i]["bertscore"] = bertscore_tokens(cand, ref).f1
        for i in known:
            right = flags[i] == examples[i].reference["answerable"]
            rows[i]["answerable_correct"] = float(right)
            outs[i]["correct"] = right
        f1 = answerability_f1([flags[i] for i in known], ref_flags) if known else math.nan
        metrics[model] = {"f1": f1, "fact_recall": facts, "exact_match": em, "token_f1": tf1,
                          "citation_precision": cites, "rouge_l": rouge, "bertscore": bert}
        per_example[model] = rows
        per_class[model] = [answerability_f1([flags[i] for i in known], ref_flags, positive=p) if known else math.nan
                            for p in (True, False)]
    support = [sum(1 for i in known if examples[i].reference["answerable"] is p) for p in (True, False)]
    breakdowns = {"answerability": {
        "title": "Answerability F1 per class", "metric": "f1", "label_name": "reference",
        "note": "F1 of telling answerable from unanswerable questions, each class taken as the positive one.",
        "labels": ["answerable", "unanswerable"], "support": support, "values": per_class,
    }}
    return Scores(metrics, per_example, breakdowns)


def judge_view(example: Example, output: dict[str, Any]) -> tuple[str, str, str]:
    """The judge sees the question with every snippet, and as the reference the reference answer and
    the snippets the answer cites: whether each claim is in a cited snippet (faithfulness) is what
    the qa rubric grades first."""
    snippets = list(getattr(example.record, "review_snippets", None) or [])
    cited = [f"[{c}] {snippets[c - 1]}" for c in output.get("citations") or []
             if isinstance(c, int) and 1 <= c <= len(snippets)]
    reference = (f"Reference answer: {example.reference_text}\n"
                 f"Snippets the candidate cites:\n{chr(10).join(cited) if cited else '(none)'}")
    return example.input, reference, output.get("text") or ""
