"""One generated item: from chunk `index mod len(chunks)`, a question sampled with seed `seed + index`,
its answer grounded in the chunk, and for a preference pair the rejected answer; then the record row
in TuneLab's own format with `meta`: the chunk it came from (source, chunk id, offsets, its text) and,
for a pair, how the rejected answer was made. An item whose question or answer came out empty, or
whose rejected answer equals the chosen one, is skipped with the reason."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tunelab.data.dedup import normalize_text
from tunelab.datagen.config import GenerateConfig
from tunelab.datagen.prompts import (
    ANSWER_CONSTRAINT,
    JSON_ROOM,
    answer_messages,
    question_constraint,
    question_key,
    question_messages,
    read_field,
)
from tunelab.datagen.sources import SourceChunk
from tunelab.tasks.ecommerce.prompts import qa_messages
from tunelab.tasks.model import TaskModel


@dataclass
class Generators:
    """The model that writes questions and chosen answers, and the base model for rejected=base."""

    main: TaskModel
    base: TaskModel | None = None


def _user(text: str) -> dict:
    return {"role": "user", "content": text}


def _assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


async def _answer(model: TaskModel, question: str, chunk: SourceChunk | None, cfg: GenerateConfig, *,
                  temperature: float = 0.0, seed: int | None = None) -> str:
    raw = await model.complete(answer_messages(question, chunk), max_tokens=cfg.max_tokens + JSON_ROOM,
                               constraint=ANSWER_CONSTRAINT, temperature=temperature, seed=seed)
    return read_field(raw, "response")


async def _rejected(models: Generators, question: str, chunk: SourceChunk, cfg: GenerateConfig,
                    seed: int) -> tuple[str, dict]:
    """The rejected answer and its label (how it was made)."""
    if cfg.rejected == "no_context":
        return await _answer(models.main, question, None, cfg), {"method": "no_context", "model": models.main.name}
    if cfg.rejected == "temperature":
        text = await _answer(models.main, question, chunk, cfg, temperature=cfg.rejected_temperature, seed=seed)
        return text, {"method": "temperature", "temperature": cfg.rejected_temperature, "model": models.main.name}
    assert models.base is not None  # checked before the run
    return await _answer(models.base, question, chunk, cfg), {"method": "base", "model": models.base.name}


async def make_item(index: int, chunks: list[SourceChunk], models: Generators, cfg: GenerateConfig) -> dict:
    """{"index", "row"} for a record, {"index", "skipped"} for an item that gave none."""
    chunk = chunks[index % len(chunks)]
    seed = cfg.seed + index
    raw = await models.main.complete(question_messages(cfg.kind, chunk), max_tokens=cfg.question_tokens + JSON_ROOM,
                                     constraint=question_constraint(cfg.kind), temperature=cfg.temperature, seed=seed)
    question = read_field(raw, question_key(cfg.kind))
    if not question:
        return {"index": index, "skipped": "the question came out empty"}
    answer = await _answer(models.main, question, chunk, cfg)
    if not answer:
        return {"index": index, "skipped": "the answer came out empty"}
    meta = {"index": index, "kind": cfg.kind, "model": models.main.name, **chunk.provenance(), "context": chunk.text}
    if cfg.kind == "instruction":
        row = {"messages": [_user(question), _assistant(answer)]}
    elif cfg.kind == "qa":
        reply = json.dumps({"answerable": True, "answer": answer, "citations": [1]}, ensure_ascii=False)
        row = {"messages": [*qa_messages(question, [chunk.text]), _assistant(reply)]}
    else:
        rejected, how = await _rejected(models, question, chunk, cfg, seed)
        if not rejected:
            return {"index": index, "skipped": "the rejected answer came out empty"}
        if normalize_text(rejected) == normalize_text(answer):
            return {"index": index, "skipped": "the rejected answer is the chosen one"}
        row = {"prompt": [_user(question)], "chosen": [_assistant(answer)], "rejected": [_assistant(rejected)]}
        meta["rejected_by"] = how
    return {"index": index, "row": {**row, "meta": meta}}
