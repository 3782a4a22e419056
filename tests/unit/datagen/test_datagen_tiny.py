"""Generation mechanics on the tiny random model (a real engine, real llguidance constraints): every
question and answer comes out of constrained JSON, however random the model (no item is skipped as
cut or unparseable); each record's offsets point at its chunk in the source file (a CRLF file too);
a run cancelled mid-way (Ctrl-C) keeps the records it wrote and a rerun continues from them; an
adapter's pairs take their rejected answers from its base model, on the same engine."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tunelab.adapters import AdapterRegistry
from tunelab.data.registry import DatasetRegistry
from tunelab.datagen.config import GenerateConfig
from tunelab.datagen.generate import datagen_dir, generate_dataset
from tunelab.datagen.sources import locate

SMALL = {"question_tokens": 12, "max_tokens": 12, "model": "tiny"}  # + 16 tokens of JSON room each


@pytest.fixture
def docs(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "care.md").write_text("# Care\n\nWash the jacket cold and hang it to dry.\n\n## Storage\n\n"
                                    "Keep it folded in a dry cupboard.\n")
    (folder / "warranty.md").write_bytes(b"# Warranty\r\n\r\nEvery kettle has a two year warranty.\r\nKeep the receipt.\r\n")
    return folder


def test_records_come_from_constrained_json_and_point_at_their_chunks(tiny, settings, store, docs):
    out = asyncio.run(generate_dataset(GenerateConfig(sources=[str(docs)], kind="instruction", n=3, name="tiny-inst",
                                                      concurrency=3, **SMALL), settings, store, progress=False))
    assert out.skipped == {} and out.dataset.num_records == 3  # nothing came out cut or unparseable
    rows = [json.loads(x) for x in Path(out.records_file).read_text(encoding="utf-8").splitlines()]
    assert {r["meta"]["source"] for r in rows} == {str(docs / "care.md"), str(docs / "warranty.md")}
    for row in rows:
        meta = row["meta"]
        span = Path(meta["source"]).read_bytes().decode()[meta["start"]:meta["end"]]
        if meta["source"].endswith("care.md"):
            assert span == meta["context"]
        else:  # the CRLF file: the span has its CRLFs, the chunk LFs (chunking joins lines with LF)
            assert "\r\n" in span and span.replace("\r\n", "\n") == meta["context"]
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
        assert all(m["content"].strip() for m in row["messages"])
    records = DatasetRegistry(store, settings).load("tiny-inst")
    assert [r.messages[0].content for r in records] == [r["messages"][0]["content"] for r in rows]


def test_locate_finds_a_chunk_whatever_the_newlines():
    text = "intro\r\nWash cold.\r\nHang to dry.\r\n"
    assert locate("Wash cold.\nHang to dry.", text) == (7, 31)
    assert locate("not there", text) is None
    assert locate("b", "a b a b", after=3) == (6, 7)


def test_a_cancelled_run_keeps_its_records_and_the_rerun_continues(tiny, settings, store, docs):
    cfg = GenerateConfig(sources=[str(docs)], kind="instruction", n=3, name="resumed", concurrency=1, **SMALL)
    partial = datagen_dir(settings) / "resumed.partial.jsonl"

    async def cancel_after_first_record():
        task = asyncio.create_task(generate_dataset(cfg, settings, store, progress=False))
        while not (partial.exists() and len(partial.read_text().splitlines()) >= 2):  # header + one record
            await asyncio.sleep(0.01)  # a record takes tens of milliseconds at least: this sees the first
            assert not task.done(), "the run finished before it could be cancelled"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(cancel_after_first_record(), 120))
    kept = [json.loads(x) for x in partial.read_text().splitlines()[1:]]
    assert "resumed" not in DatasetRegistry(store, settings).names() and len(kept) >= 1
    out = asyncio.run(generate_dataset(cfg, settings, store, progress=False))
    assert out.dataset.num_records == 3 and out.made_now == 3 - len(kept)
    rows = [json.loads(x) for x in Path(out.records_file).read_text().splitlines()]
    assert rows[: len(kept)] == [k["row"] for k in kept]  # the records made before the stop, unchanged


def test_rejected_answers_from_the_base_model_of_an_adapter(tiny, settings, store, docs, tmp_path):
    torch.manual_seed(7)
    base = AutoModelForCausalLM.from_pretrained(tiny.path)
    lora = tmp_path / "lora"
    get_peft_model(base, LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"],
                                    init_lora_weights=False)).save_pretrained(lora)
    AdapterRegistry(store, settings).register("tiny-shop", kind="lora", path=lora, base_model="tiny")
    cfg = GenerateConfig(sources=[str(docs / "care.md")], kind="preference", n=2, name="pairs", rejected="base",
                         **{**SMALL, "model": "tiny-shop"})
    out = asyncio.run(generate_dataset(cfg, settings, store, progress=False))
    rows = [json.loads(x) for x in Path(out.records_file).read_text().splitlines()]
    assert len(rows) == 2 and all(r["meta"]["rejected_by"] == {"method": "base", "model": "tiny"} for r in rows)
    assert all(r["meta"]["model"] == "tiny-shop" and r["chosen"] != r["rejected"] for r in rows)
