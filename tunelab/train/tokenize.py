"""Records -> token ids and labels for causal-LM training.

A chat record is rendered once with the model's chat template; the assistant turns' character
spans are found by rendering each prefix (the template must be prefix-stable, as ChatML-style
templates are), and only tokens inside those spans are labelled when `completion_only` is set.
Labels are aligned with input ids (the model shifts them); -100 means "no loss here".
"""

from __future__ import annotations

from dataclasses import dataclass

from tunelab.data.records import ChatRecord, Record, TextRecord
from tunelab.models.chat_templates import render_chat

IGNORE = -100


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def n_target(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


def _msgs(record: ChatRecord, upto: int | None = None) -> list[dict]:
    return [{"role": m.role, "content": m.content} for m in record.messages[:upto]]


def tokenize_chat(tokenizer, record: ChatRecord, *, template: str | None, max_len: int,
                  completion_only: bool = True) -> Example:
    full = render_chat(tokenizer, _msgs(record), template, add_generation_prompt=False)
    spans: list[tuple[int, int]] = []
    for i, m in enumerate(record.messages):
        if m.role != "assistant":
            continue
        start = len(render_chat(tokenizer, _msgs(record, i), template, add_generation_prompt=True))
        end = len(render_chat(tokenizer, _msgs(record, i + 1), template, add_generation_prompt=False))
        if not full.startswith(render_chat(tokenizer, _msgs(record, i + 1), template, add_generation_prompt=False)):
            raise ValueError("the chat template is not prefix-stable, so assistant turns cannot be located; "
                             "set completion_only_loss: false or choose another chat_template")
        spans.append((start, end))
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True, truncation=True, max_length=max_len)
    ids = enc["input_ids"]
    if not completion_only:
        return Example(ids, list(ids))
    labels = []
    for tok, (a, b) in zip(ids, enc["offset_mapping"]):
        inside = any(s <= a < e for s, e in spans) and b > a
        labels.append(tok if inside else IGNORE)
    return Example(ids, labels)


def tokenize_text(tokenizer, record: TextRecord, *, max_len: int) -> Example:
    ids = tokenizer(record.text, truncation=True, max_length=max_len - 1)["input_ids"]
    if tokenizer.eos_token_id is not None:
        ids = ids + [tokenizer.eos_token_id]
    return Example(ids, list(ids))


def tokenize_records(tokenizer, records: list[Record], *, template: str | None, max_len: int,
                     completion_only: bool = True) -> list[Example]:
    """Tokenize SFT records; examples left with no target token (all truncated away) are dropped."""
    out = []
    for i, r in enumerate(records):
        if isinstance(r, ChatRecord):
            ex = tokenize_chat(tokenizer, r, template=template, max_len=max_len, completion_only=completion_only)
        elif isinstance(r, TextRecord):
            ex = tokenize_text(tokenizer, r, max_len=max_len)
        else:
            raise ValueError(f"record {i}: SFT trains on chat or text records, not {r.kind} records")
        if ex.n_target > 1:
            out.append(ex)
    return out
