"""`curate_dataset(config, settings, store)`: a dataset cleaned step by step, each step saying how many
records it removed and why: exact duplicates (case, punctuation and spacing aside), near duplicates
(MinHash LSH), leaks of evaluation texts (shared 13-grams), the rule filters (`data.quality`), then
optionally an LLM judge. The removed records go to `<home>/datasets/OUT.removed.jsonl` with their step
and reason; the rest is registered as OUT with lineage to the input and the per-step counts. A run
that would remove every record says so and writes nothing."""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tunelab.data.decontam import NgramIndex
from tunelab.data.dedup import dedup_key
from tunelab.data.loader import load_dataset
from tunelab.data.near_dedup import near_duplicates
from tunelab.data.quality import RULE_STEPS, Rules, rule_failure
from tunelab.data.record_text import full_text, question_answer
from tunelab.data.records import Record, record_to_row
from tunelab.data.registry import DatasetRegistry, RegisteredDataset
from tunelab.data.writers import write_jsonl
from tunelab.datagen.against import against_texts
from tunelab.datagen.errors import DatagenError
from tunelab.eval.config import JudgeConfig
from tunelab.models.catalogue import NAME_RE
from tunelab.progress import Progress
from tunelab.settings import Settings
from tunelab.store import Store


class CurateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: str = Field(description="A registered dataset's name, or a dataset file.")
    name: str = Field(description="The curated dataset to register.")
    against: list[str] = Field(default_factory=list, description="Evaluation texts to decontaminate against: "
                                                                 "TASK:SPLIT (e.g. qa:test), FILE[:SPLIT] or a dataset.")
    near_threshold: float = Field(0.8, gt=0, le=1, description="Estimated Jaccard similarity of near duplicates.")
    ngram: int = Field(13, ge=4, le=50, description="Word n-gram a leak shares with an evaluation text.")
    leak_min_words: int = Field(8, ge=1, description="Shorter evaluation texts are not looked for.")
    rules: Rules = Field(default_factory=Rules)
    judge: str | None = Field(None, description="Judge model: a catalogue model, an adapter or upstream/model.")
    rubric: str | None = Field(None, description="The judge's rubric, or a file holding it (default: a rubric for "
                                                 "training examples).")
    threshold: float = Field(3.0, ge=1, le=5, description="Lowest judge score (1-5) kept.")
    judge_max_tokens: int = Field(128, ge=16, le=4096)
    concurrency: int = Field(8, ge=1, le=256)


@dataclass
class Step:
    step: str
    removed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # why (in short) -> how many


@dataclass
class CurateResult:
    dataset: RegisteredDataset
    input_records: int
    steps: list[Step]
    removed_file: str
    unjudged: int = 0  # records kept because the judge's verdict was unusable


class _Run:
    """The records still in, and what each step took out."""

    def __init__(self, records: list[Record]) -> None:
        self.records = records
        self.alive = list(range(len(records)))
        self.steps: list[Step] = []
        self.removed: list[dict] = []

    def apply(self, step: str, found: dict[int, tuple[str, str]]) -> None:
        """Remove `found` ({index: (reason in short, reason in full)}) as `step`."""
        report = Step(step, len(found), dict(Counter(short for short, _ in found.values())))
        self.steps.append(report)
        for i, (_, why) in sorted(found.items()):
            self.removed.append({"index": i, "step": step, "reason": why, "record": record_to_row(self.records[i])})
        self.alive = [i for i in self.alive if i not in found]
        if not self.alive:
            counts = "; ".join(f"{s.step} {s.removed}" for s in self.steps if s.removed)
            raise DatagenError(f"Curating would remove every record ({counts}); nothing was written. Loosen the "
                               "step that removed the last of them.")


def _load(spec: str, registry: DatasetRegistry) -> list[Record]:
    if spec in registry.names():
        return registry.load(spec)
    if Path(spec).expanduser().is_file():
        return load_dataset(Path(spec).expanduser()).records
    raise DatagenError(f"'{spec}' is neither a registered dataset ({', '.join(registry.names()) or 'none yet'}) "
                       "nor a file.")


def _exact(run: _Run) -> dict[int, tuple[str, str]]:
    first: dict[str, int] = {}
    found = {}
    for i in run.alive:
        key = dedup_key(run.records[i], "normalized")
        if key in first:
            found[i] = ("same as an earlier record", f"the same as record {first[key]} (case, punctuation and "
                                                     "spacing aside)")
        else:
            first[key] = i
    return found


def _near(run: _Run, threshold: float) -> dict[int, tuple[str, str]]:
    texts = ["\n".join(question_answer(run.records[i])) for i in run.alive]
    found = near_duplicates(texts, threshold=threshold)
    return {run.alive[k]: (f"near duplicate (Jaccard >= {threshold:g})",
                           f"a near duplicate of record {run.alive[j]} (estimated Jaccard {sim:.2f})")
            for k, (j, sim) in found.items()}


def _leaks(run: _Run, spec: str, cfg: CurateConfig, settings: Settings, store: Store) -> dict[int, tuple[str, str]]:
    index = NgramIndex(against_texts(spec, settings, store), n=cfg.ngram, min_words=cfg.leak_min_words)
    found = {}
    for i in run.alive:
        gram = index.overlap(full_text(run.records[i]))
        if gram is not None:
            found[i] = (f"overlaps {spec}", f"shares '{gram}' with {spec}")
    return found


def _rules(run: _Run, rules: Rules) -> dict[str, dict[int, tuple[str, str]]]:
    by_step: dict[str, dict[int, tuple[str, str]]] = {}
    for i in run.alive:
        failed = rule_failure(*question_answer(run.records[i]), rules)
        if failed is not None:
            step, why = failed
            by_step.setdefault(step, {})[i] = (step.replace("_", " "), why)
    return by_step


def curate_dataset(cfg: CurateConfig, settings: Settings, store: Store, *, console=None,
                   progress: bool = True) -> CurateResult:
    if not NAME_RE.match(cfg.name):
        raise DatagenError(f"Dataset name '{cfg.name}' must be 1-128 letters, digits, '.', '_' or '-'.")
    registry = DatasetRegistry(store, settings)
    if cfg.name in registry.names():
        raise DatagenError(f"A dataset named '{cfg.name}' already exists; pick another --name or remove it first "
                           f"with: tunelab data rm {cfg.name}")
    run = _Run(_load(cfg.input, registry))
    run.apply("exact_dedup", _exact(run))
    run.apply("near_dedup", _near(run, cfg.near_threshold))
    for spec in cfg.against:
        run.apply(f"decontaminate {spec}", _leaks(run, spec, cfg, settings, store))
    failed = _rules(run, cfg.rules)
    for step in RULE_STEPS:
        if step != "language" or cfg.rules.language:
            run.apply(step, failed.get(step, {}))
    unjudged = 0
    if cfg.judge:
        unjudged = _judge(run, cfg, settings, store, console, progress)
    return _publish(run, cfg, registry, unjudged)


def _judge(run: _Run, cfg: CurateConfig, settings: Settings, store: Store, console, progress: bool) -> int:
    from tunelab.datagen.judge_filter import judge_records  # lazy: the judge loads a model (torch)

    rubric = JudgeConfig(model=cfg.judge, rubric=cfg.rubric).rubric_text()  # a rubric file is read as the eval's is
    with Progress(console, f"judge {cfg.name}", total=len(run.alive), noun="records", rate_unit="records",
                  interval_s=settings.progress_interval_s, enabled=progress) as bar:
        judged = asyncio.run(judge_records({i: run.records[i] for i in run.alive}, cfg.judge, rubric, settings,
                                           store, max_tokens=cfg.judge_max_tokens, concurrency=cfg.concurrency,
                                           tick=bar.advance))
    run.apply("judge", {i: (f"judge score below {cfg.threshold:g}", f"judge score {v.score}: {v.reason}")
                        for i, v in judged.below(cfg.threshold).items()})
    return len(judged.unusable())


def _publish(run: _Run, cfg: CurateConfig, registry: DatasetRegistry, unjudged: int) -> CurateResult:
    """Register the kept records and write the removed ones beside them."""
    folder = registry.datasets_dir()
    folder.mkdir(parents=True, exist_ok=True)
    kept_tmp = folder / f".{cfg.name}.curated.{os.getpid()}.jsonl"
    removed_file = folder / f"{cfg.name}.removed.jsonl"
    removed_tmp = removed_file.with_name(f".{removed_file.name}.{os.getpid()}.tmp")
    lineage = {"curated_from": cfg.input, "input_records": len(run.records), "kept": len(run.alive),
               "steps": [asdict(s) for s in run.steps], "removed_file": str(removed_file), "unjudged": unjudged,
               "settings": cfg.model_dump(mode="json", exclude={"input", "name"})}
    try:
        write_jsonl((run.records[i] for i in run.alive), kept_tmp)
        removed_tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in run.removed),
                               encoding="utf-8")
        info = registry.add(kept_tmp, cfg.name, source=f"curated from {cfg.input}", lineage=lineage)
        os.replace(removed_tmp, removed_file)
    finally:
        kept_tmp.unlink(missing_ok=True)
        removed_tmp.unlink(missing_ok=True)
    return CurateResult(dataset=info, input_records=len(run.records), steps=run.steps, removed_file=str(removed_file),
                        unjudged=unjudged)
