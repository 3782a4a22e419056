"""The hand-labelled real-style titles (split `real`): every label a packaged taxonomy category with its
own path, enough titles across enough top levels, no duplicates, none of them (exactly, nearly, or as
a shared word n-gram) in anything the sample trains on or the quickstart fine-tunes on, and loadable
by name as classify's `real` split."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from tunelab.data.decontam import NgramIndex
from tunelab.data.dedup import normalize_text
from tunelab.data.near_dedup import near_duplicates
from tunelab.datagen.against import against_texts
from tunelab.datagen.errors import DatagenError
from tunelab.eval.config import EvalConfig
from tunelab.eval.runner import run_eval
from tunelab.eval.tasks import get_task
from tunelab.recipes.quickstart import TRAIN_TASKS as QUICKSTART_TASKS
from tunelab.tasks.ecommerce.datasets import load_real_products, load_sample_products, packaged_taxonomy
from tunelab.tasks.ecommerce.prompts import sft_examples

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def real():
    return load_real_products()


@pytest.fixture(scope="module")
def training_texts() -> list[str]:
    """Everything the sample trains on: its train and validation products (title and full text), the
    quickstart's SFT examples of both splits (every message), and the recipe's shipped data files."""
    texts = []
    for split in ("train", "validation"):
        for p in load_sample_products(split):
            texts += [p.title, p.text()]
        for ex in sft_examples(split, QUICKSTART_TASKS):
            texts += [m["content"] for m in ex["messages"]]
    for path in sorted((REPO / "examples" / "ecommerce" / "data").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            texts += [m["content"] for m in json.loads(line)["messages"]]
    return texts


def test_every_label_is_a_taxonomy_category_with_its_own_path(real):
    taxonomy = packaged_taxonomy()
    assert len(real) >= 100 and len({p.id for p in real}) == len(real)
    for p in real:
        assert p.category_id in taxonomy and p.category_path == taxonomy.path(p.category_id), p.id
        assert p.split == "real" and p.title.strip() == p.title and len(p.title.split()) >= 3
    tops = Counter(p.category_path.split(" > ")[0] for p in real)
    assert len(tops) >= 15 and min(tops.values()) >= 3


def test_no_title_is_repeated_even_nearly(real):
    titles = [p.title for p in real]
    assert len({normalize_text(t) for t in titles}) == len(titles)
    assert near_duplicates(titles, threshold=0.8) == {}


def test_no_title_is_in_anything_the_sample_or_the_quickstart_trains_on(real, training_texts):
    titles = [p.title for p in real]
    trained = {normalize_text(t) for t in training_texts}
    joined = "\n".join(trained)
    assert [t for t in titles if normalize_text(t) in trained or normalize_text(t) in joined] == []
    # near duplicates: a real title whose character-shingle Jaccard with a training title reaches 0.5
    train_titles = [p.title for s in ("train", "validation") for p in load_sample_products(s)]
    found = near_duplicates(train_titles + titles, threshold=0.5)
    assert [titles[i - len(train_titles)] for i, (j, _) in found.items()
            if i >= len(train_titles) and j < len(train_titles)] == []
    # a shared run of 6 words anywhere in the training texts (decontamination's measure, stricter than 13)
    grams = NgramIndex(titles, n=6, min_words=4)
    assert len(grams) > 0 and [t for t in training_texts if grams.overlap(t)] == []


def test_the_split_is_for_evaluation_only(real):
    with pytest.raises(ValueError, match="Unknown split 'real'"):
        load_sample_products("real")
    assert not {p.id for p in real} & {p.id for p in load_sample_products()}
    assert against_texts("classify:real", settings=None, store=None) == [
        v for p in real for v in (p.id, p.title, p.category_path)]
    with pytest.raises(DatagenError, match="only classify has a real split"):
        against_texts("qa:real", settings=None, store=None)


def test_classify_evaluates_the_real_split_by_name(real, settings, store, tmp_path):
    config = EvalConfig(task="classify", split="real", predictions=[str(tmp_path / "half.jsonl")])
    examples = get_task("classify").load_examples(config)
    assert [e.id for e in examples] == [p.id for p in real]
    assert [e.reference["id"] for e in examples] == [p.category_id for p in real]
    # a predictions file right on every other title: accuracy 0.5ish, and no candidate recall (no candidates)
    lines = [{"id": p.id, "prediction": p.category_id if i % 2 == 0 else p.category_path.rsplit(" > ", 1)[0]}
             for i, p in enumerate(real)]
    (tmp_path / "half.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    result = asyncio.run(run_eval(config, settings, store))
    assert result.split == "real" and len(result.examples) == len(real)
    assert result.metrics["half"]["accuracy"] == pytest.approx(sum(i % 2 == 0 for i in range(len(real))) / len(real))
    assert "candidate_recall" not in result.metrics["half"]
