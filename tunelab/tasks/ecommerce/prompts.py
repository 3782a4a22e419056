"""Prompts of the e-commerce tasks, the same for training and for inference: [CLASSIFY] (reply: a
Google Product Taxonomy path), [EXTRACT] (reply: a JSON object of the requested attributes, null
where the text is silent) and [QA] (reply: JSON {"answerable", "answer", "citations"} over numbered
sources). Builders return chat message lists; the *_example builders add the reference reply for
SFT, and `build_sft_dataset` writes the packaged sample as a `messages` JSONL dataset."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tunelab.data.records import ChatRecord, Message
from tunelab.data.writers import write_jsonl
from tunelab.tasks.ecommerce.attributes import AttributeSpec, describe_attribute, parse_attribute_spec
from tunelab.tasks.ecommerce.datasets import load_sample_attributes, load_sample_products, load_sample_qa
from tunelab.tasks.ecommerce.datasets.records import AttributeRecord, Product, QARecord

SYSTEM = ("You are a product catalogue assistant. Do the task the user's prefix names "
          "([CLASSIFY], [EXTRACT] or [QA]) and reply with the requested output only.")

NOT_IN_CONTEXT = "The sources do not contain the answer."
"""The answer of a [QA] reply whose sources do not hold the answer (answerable false)."""

CLASSIFY_MAX_CHARS = 2000  # the title comes first; a long description adds little to the category but costs prefill
TASKS = ("classify", "extract", "qa")


def reply_json(value: Any) -> str:
    """JSON as the constrained decoder writes it (`json.dumps` separators ", " and ": ", no other
    whitespace, non-ASCII kept), so SFT targets and constrained output agree byte for byte."""
    return json.dumps(value, ensure_ascii=False)


def _chat(user: str) -> list[dict]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def classify_messages(product_text: str) -> list[dict]:
    """[CLASSIFY]: the listing, and a request for its full Google Product Taxonomy path."""
    text = product_text.strip()[:CLASSIFY_MAX_CHARS]
    return _chat("[CLASSIFY] Give the Google Product Taxonomy category of this product as its full path "
                 "(Level 1 > Level 2 > ...).\n\n" + text)


def extract_messages(text: str, attributes: AttributeSpec) -> list[dict]:
    """[EXTRACT]: the attributes with their types, then the listing; the reply is a JSON object with
    every attribute in this order, null where the text does not state it."""
    lines = "\n".join(f"- {describe_attribute(name, kind)}" for name, kind in attributes.items())
    return _chat("[EXTRACT] Extract these attributes from the product text. Reply with a JSON object that has "
                 "every attribute as a key, in this order; use null when the text does not state the value.\n"
                 f"Attributes:\n{lines}\n\nText:\n{text.strip()}")


def qa_messages(question: str, sources: list[str]) -> list[dict]:
    """[QA]: numbered sources [1]..[n], then the question; the reply is JSON
    {"answerable": bool, "answer": str, "citations": [source numbers]}."""
    numbered = "\n".join(f"[{i}] {s.strip()}" for i, s in enumerate(sources, start=1))
    return _chat("[QA] Answer the question from the sources only. Reply with a JSON object: "
                 '{"answerable": true or false, "answer": "...", "citations": [numbers of the sources used]}. '
                 f'If the sources do not hold the answer, set answerable to false, answer "{NOT_IN_CONTEXT}" '
                 f"and cite nothing.\n\nSources:\n{numbered}\n\nQuestion: {question.strip()}")


def quote_messages(question: str, sources: list[str]) -> list[dict]:
    """[QA], grounded: numbered sources, then the question; the reply is the one sentence of the
    sources that answers it, copied exactly (what grounded QA ranks candidate sentences as). An
    empty question asks for a sentence of the sources with no question (the baseline of that ranking)."""
    numbered = "\n".join(f"[{i}] {s.strip()}" for i, s in enumerate(sources, start=1))
    ask = f"\n\nQuestion: {question.strip()}" if question.strip() else ""
    return _chat("[QA] Reply with the one sentence of the sources that answers the question, copied exactly."
                 f"\n\nSources:\n{numbered}{ask}")


def asks_messages(passage: str) -> list[dict]:
    """Grounded QA's reranking prompt: a passage, then "write the question it answers"; the question's
    likelihood as the reply says how well the passage answers it (query likelihood, as in UPR: Sachan
    et al., 2022). No system prompt: the same for every model."""
    return [{"role": "user", "content": f"Passage: {passage}\n\nWrite a question that this passage answers."}]


# --- SFT examples ---------------------------------------------------------------------------------

def _example(messages: list[dict], reply: str) -> dict:
    return {"messages": [*messages, {"role": "assistant", "content": reply}]}


def classification_example(product: Product) -> dict:
    """{"messages": [system, user, assistant]}: `classify_messages(product.text())` -> the category path."""
    if product.category_path is None:
        raise ValueError(f"Product {product.id!r} has no category_path to train on.")
    return _example(classify_messages(product.text()), product.category_path)


def extraction_example(record: AttributeRecord, attributes: AttributeSpec | None = None) -> dict:
    """`extract_messages(record.text(), spec)` -> the JSON of the record's values (null where absent),
    keys in spec order. Without `attributes`, the spec is the record's keys, all strings."""
    spec = attributes if attributes is not None else parse_attribute_spec(
        [a.key for a in record.attributes], where=f"attribute record {record.id!r}")
    known = record.values()
    return _example(extract_messages(record.text(), spec), reply_json({k: known.get(k) for k in spec}))


_STOP = {"a", "an", "and", "are", "as", "at", "be", "by", "does", "for", "from", "got", "has", "have", "i", "in",
         "is", "it", "its", "label", "mine", "my", "no", "not", "of", "on", "one", "or", "that", "the", "this",
         "to", "was", "what", "which", "with", "yes", "going"}
_WORDS = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")


def _content_words(text: str) -> set[str]:
    return {w for w in _WORDS.findall(text.lower()) if w not in _STOP}


def source_overlap(answer: str, sources: Sequence[str]) -> list[int]:
    """How many content words (not "the", "is", "yes", ...) each source shares with `answer`."""
    words = _content_words(answer)
    return [len(words & _content_words(s)) for s in sources]


def supporting_sources(answer: str, sources: Sequence[str]) -> list[int]:
    """1-based numbers of the sources that share the most content words with `answer` (ties all
    kept); every source when none shares a word (we cannot tell which one holds it)."""
    overlap = source_overlap(answer, sources)
    best = max(overlap, default=0)
    if best == 0:
        return list(range(1, len(sources) + 1))
    return [i for i, n in enumerate(overlap, start=1) if n == best]


def qa_example(record: QARecord) -> dict:
    """`qa_messages(question, review_snippets)` -> the JSON reply: unanswerable records answer
    NOT_IN_CONTEXT with no citation; answerable ones give the most helpful answer and cite the
    snippets that hold it (by shared words; all of them when that cannot be told)."""
    answer = record.answer
    answerable = bool(record.is_answerable if record.is_answerable is not None else answer)
    if answerable and record.review_snippets and answer:
        reply = {"answerable": True, "answer": answer, "citations": supporting_sources(answer, record.review_snippets)}
    else:
        reply = {"answerable": False, "answer": NOT_IN_CONTEXT, "citations": []}
    return _example(qa_messages(record.question, record.review_snippets), reply_json(reply))


def sft_examples(split: str = "train", tasks: Iterable[str] = ("classify", "extract")) -> list[dict]:
    """The packaged sample's `split` as SFT examples of `tasks` (classify, extract, qa), shuffled
    with a fixed seed so the tasks interleave."""

    tasks = tuple(tasks)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise ValueError(f"Unknown task(s) {unknown or tasks!r}: choose from {', '.join(TASKS)}.")
    examples: list[dict] = []
    if "classify" in tasks:
        examples += [classification_example(p) for p in load_sample_products(split) if p.category_path]
    if "extract" in tasks:
        examples += [extraction_example(r) for r in load_sample_attributes(split) if r.attributes]
    if "qa" in tasks:
        examples += [qa_example(r) for r in load_sample_qa(split)]
    random.Random(0).shuffle(examples)
    return examples


def build_sft_dataset(split: str = "train", tasks: Iterable[str] = ("classify", "extract"), *,
                      path: str | Path) -> int:
    """Write `sft_examples(split, tasks)` to `path` as JSONL in the `messages` format
    (`tunelab.data.load_dataset` reads it back as ChatRecords); returns the number of records."""

    records = [ChatRecord(messages=[Message(**m) for m in ex["messages"]]) for ex in sft_examples(split, tasks)]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_jsonl(records, path)
