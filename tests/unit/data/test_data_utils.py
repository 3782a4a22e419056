"""Hashing, dedup, train/validation split and stats: pinned numbers, determinism across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tunelab.data import (
    ChatRecord,
    ClassificationRecord,
    Message,
    PreferenceRecord,
    TextRecord,
    dataset_hash,
    dataset_stats,
    dedup,
    load_dataset,
    normalize_text,
    record_hash,
    train_val_split,
)
from tunelab.data.split import validation_size
from tunelab.data.stats import length_histogram, length_stats, percentile


def texts(*values: str) -> list[TextRecord]:
    return [TextRecord(text=v) for v in values]


# sha256 of '{"kind":"text","text":"a"}\n{"kind":"text","text":"b"}\n', pinned so the serialisation
# cannot drift silently (a drift would change every stored dataset hash).
PINNED = "506c6025c060837ccd26c4b680750ee9caa076d3a037f986bda9a82066e88f77"


def test_hash_is_pinned_and_order_sensitive():
    import hashlib

    expected = hashlib.sha256(b'{"kind":"text","text":"a"}\n{"kind":"text","text":"b"}\n').hexdigest()
    assert dataset_hash(texts("a", "b")) == expected == PINNED
    assert dataset_hash(texts("b", "a")) != PINNED
    assert record_hash(TextRecord(text="a")) == hashlib.sha256(b'{"kind":"text","text":"a"}').hexdigest()


def test_hash_is_stable_across_processes():
    code = ("from tunelab.data import dataset_hash, TextRecord, ClassificationRecord;"
            "print(dataset_hash([TextRecord(text='a'), ClassificationRecord(text='é', label=1)]))")
    outs = {
        subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                       capture_output=True, text=True, check=True).stdout.strip()
        for seed in ("1", "2")
    }
    assert outs == {dataset_hash([TextRecord(text="a"), ClassificationRecord(text="é", label=1)])}


def test_hash_is_independent_of_file_format(tmp_path):
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps({"instruction": q, "input": "", "output": a}) for q, a in [("q1", "a1"), ("q2", "a2")]))
    (tmp_path / "d.csv").write_text("instruction,output\nq1,a1\nq2,a2\n")
    (tmp_path / "d.json").write_text(json.dumps([{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
                                                 for q, a in [("q1", "a1"), ("q2", "a2")]]))
    hashes = {dataset_hash(load_dataset(tmp_path / name).records) for name in ("d.jsonl", "d.csv", "d.json")}
    assert len(hashes) == 1
    assert dataset_hash(load_dataset(tmp_path / "d.jsonl").records[:1]) not in hashes


def test_label_type_changes_the_hash():
    assert dataset_hash([ClassificationRecord(text="t", label=1)]) != dataset_hash([ClassificationRecord(text="t", label="1")])


def test_normalize_text():
    assert normalize_text("  Hello,\tWORLD!!  ") == "hello world"
    assert normalize_text("Ｆｕｌｌ－width “quotes”") == "fullwidth quotes"


def test_dedup_exact_and_normalized_counts():
    records = texts("Hello world", "Hello world", "hello, World!", "other", "Other.", "hello world") + [
        ClassificationRecord(text="Hello world", label="x")]
    exact = dedup(records)
    assert exact.removed == 1
    assert exact.records == texts("Hello world", "hello, World!", "other", "Other.", "hello world") + [records[-1]]
    norm = dedup(records, mode="normalized")
    assert norm.removed == 4
    assert norm.records == texts("Hello world", "other") + [records[-1]]


def test_dedup_compares_whole_conversations():
    def chat(answer):
        return ChatRecord(messages=[Message(role="user", content="q"), Message(role="assistant", content=answer)])

    assert dedup([chat("a"), chat("b"), chat("a")]).removed == 1
    with pytest.raises(ValueError, match="Unknown dedup mode 'fuzzy'"):
        dedup([chat("a")], mode="fuzzy")  # type: ignore[arg-type]


RECORDS = texts(*(f"record {i}" for i in range(100)))


def test_split_same_seed_same_split_and_order_kept():
    train, val = train_val_split(RECORDS, 0.2, seed=7)
    assert (len(train), len(val)) == (80, 20)
    assert (train, val) == train_val_split(list(RECORDS), 0.2, seed=7)
    assert sorted(train + val, key=RECORDS.index) == RECORDS
    assert train == [r for r in RECORDS if r in train] and val == [r for r in RECORDS if r in val]
    assert train_val_split(RECORDS, 0.2, seed=8)[1] != val


def test_split_is_pinned_across_runs():
    _, val = train_val_split(texts(*(f"r{i}" for i in range(10))), 3, seed=0)
    import hashlib

    ranked = sorted(range(10), key=lambda i: hashlib.sha256(f'0\n{{"kind":"text","text":"r{i}"}}'.encode()).digest())
    assert [r.text for r in val] == [f"r{i}" for i in sorted(ranked[:3])]


def test_split_keeps_sides_when_records_are_added():
    _, val = train_val_split(RECORDS, 10, seed=1)
    _, val_more = train_val_split(RECORDS + texts(*(f"new {i}" for i in range(100))), 20, seed=1)
    # old records keep their relative rank, so the old ones held out now are a prefix of the old
    # ranking: one validation set contains the other (a reshuffle would break this)
    old_held = set(val_more) & set(RECORDS)
    assert old_held <= set(val) or set(val) <= old_held
    assert old_held


def test_split_sizes_and_refusals():
    assert validation_size(10, 0.01) == 1
    assert validation_size(10, 0.99) == 9
    assert validation_size(10, 0.25) == 2  # round(2.5) == 2 (banker's rounding)
    assert validation_size(10, 4) == 4
    for n, val, message in [
        (1, 0.5, "needs at least 2"),
        (10, 1.0, "between 0 and 1"),
        (10, 0.0, "between 0 and 1"),
        (10, 10, "between 1 and 9 for 10 records, got 10"),
        (10, 0, "between 1 and 9"),
        (10, True, "a fraction or a count"),
    ]:
        with pytest.raises(ValueError, match=message):
            validation_size(n, val)


def test_percentiles_match_linear_interpolation():
    values = [1, 2, 3, 4]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 95) == pytest.approx(3.85)
    assert percentile([5], 95) == 5
    assert length_stats([10, 1, 4, 3, 2]) == length_stats([1, 2, 3, 4, 10])
    s = length_stats([10, 1, 4, 3, 2])
    assert (s.min, s.mean, s.p50, s.p95, s.max) == (1, 4.0, 3, pytest.approx(8.8), 10)


def test_dataset_stats_with_a_tokenizer():
    def tokenize(text: str) -> list[int]:
        return [len(w) for w in text.split()]

    records = [
        ChatRecord(messages=[Message(role="user", content="one two"), Message(role="assistant", content="three")]),
        PreferenceRecord(prompt=[Message(role="user", content="a")], chosen=[Message(role="assistant", content="b")],
                         rejected=[Message(role="assistant", content="c d e f")]),
        ClassificationRecord(text="w", label="x"),
        ClassificationRecord(text="w w", label="x"),
        ClassificationRecord(text="w w", label=2),
    ]
    stats = dataset_stats(records, tokenize)
    assert stats.count == 5
    assert stats.kinds == {"chat": 1, "preference": 1, "classification": 3}
    assert stats.labels == {"2": 1, "x": 2}
    assert (stats.lengths.min, stats.lengths.max, stats.lengths.p50, stats.lengths.mean) == (1, 5, 2, 2.6)
    assert dataset_stats(records).lengths is None
    assert dataset_stats([]).count == 0


def test_length_histogram_bins_every_length_once():
    assert length_histogram([3, 4, 4, 9, 12], bins=4) == ([3, 6, 9, 12, 15], [3, 0, 1, 1])
    assert length_histogram([5, 5, 5], bins=10) == ([5, 6], [3])  # one distinct length: one bin of width 1
    assert length_histogram([1, 2, 3], bins=10) == ([1, 2, 3, 4], [1, 1, 1])  # never wider than needed
    assert length_histogram([], bins=5) == ([], [])
    edges, counts = length_histogram(list(range(100)), bins=7)
    assert len(counts) <= 7 and sum(counts) == 100 and edges[0] == 0 and edges[-1] > 99
    with pytest.raises(ValueError):
        length_histogram([1], bins=0)
