"""The dataset registry and `tunelab data add | list | show | rm`: a normalised copy under the
home, its hash, stats and preview in the store; refusals leave nothing behind."""

from __future__ import annotations

import json

import pytest
import typer
from pg_support import settings_on_each_backend, store_on_each_backend  # noqa: F401 - fixtures: SQLite, then PostgreSQL
from typer.testing import CliRunner

from tunelab.cli.data import app
from tunelab.data import DatasetError, dataset_hash, load_dataset
from tunelab.data.registry import DatasetRegistry, DatasetRegistryError, UnknownDatasetError

ALPACA = [
    {"instruction": "Classify: red running shoe", "output": "Apparel"},
    {"instruction": "Classify: claw hammer", "input": "tools aisle", "output": "Hardware"},
    {"instruction": "Classify: green tea", "output": "Food"},
    {"instruction": "Classify: kettle", "output": "Kitchen"},
]


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def registry(store, settings):
    return DatasetRegistry(store, settings)


def test_add_get_load_roundtrip(registry, settings, tmp_path):
    src = write(tmp_path / "shop.jsonl", ALPACA)
    info = registry.add(src, "shop")
    original = load_dataset(src).records
    assert info.path == str(settings.home / "datasets" / "shop.jsonl") and info.source == str(src)
    assert (info.format, info.num_records, info.content_hash) == ("messages", 4, dataset_hash(original))
    assert info.stats["source_format"] == "alpaca" and info.stats["length_unit"] == "characters"
    assert info.stats["kinds"] == {"chat": 4} and info.stats["lengths"]["min"] == len("Classify: kettle\nKitchen")
    assert info.preview[0] == {"messages": [{"role": "user", "content": "Classify: red running shoe"},
                                            {"role": "assistant", "content": "Apparel"}]}
    assert len(info.preview) == 3
    assert registry.load("shop") == original
    assert registry.get("shop") == info and [d.name for d in registry.list()] == ["shop"]
    assert [p.name for p in (settings.home / "datasets").iterdir()] == ["shop.jsonl"]  # no temp file left


def test_same_content_under_two_names_has_one_hash(registry, tmp_path):
    src = write(tmp_path / "d.jsonl", [{"text": "red shoe", "label": "Apparel"}])
    copy = tmp_path / "d.csv"
    copy.write_text("text,label\nred shoe,Apparel\n", encoding="utf-8")
    one, two = registry.add(src, "one"), registry.add(copy, "two")
    assert one.content_hash == two.content_hash and one.format == two.format == "classification"


def test_duplicate_or_bad_name_refused(registry, tmp_path):
    src = write(tmp_path / "d.jsonl", ALPACA)
    registry.add(src, "shop")
    with pytest.raises(DatasetRegistryError, match="A dataset named 'shop' already exists.*tunelab data rm shop"):
        registry.add(src, "shop")
    with pytest.raises(DatasetRegistryError, match="must be 1-128 letters"):
        registry.add(src, "../escape")
    assert registry.names() == ["shop"]


def test_invalid_file_leaves_nothing(registry, settings, tmp_path):
    src = write(tmp_path / "bad.jsonl", [ALPACA[0], {"instruction": "q"}])
    with pytest.raises(DatasetError, match="bad.jsonl line 2: field 'output': missing"):
        registry.add(src, "bad")
    assert registry.list() == []
    folder = settings.home / "datasets"
    assert not folder.exists() or list(folder.iterdir()) == []
    info = registry.add(src, "bad", skip_invalid=True)
    assert info.num_records == 1 and info.stats["skipped"] == 1
    assert "line 2: field 'output': missing" in info.stats["skip_reasons"][0]


def test_token_stats_with_a_tokenizer(registry, tmp_path, tiny_model_dir):
    from transformers import AutoTokenizer

    from tunelab.models.tokenizer import token_counter

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    count = token_counter(tok)
    src = write(tmp_path / "t.jsonl", [{"text": "Wireless earbuds"}, {"text": "The quick brown fox"}])
    info = registry.add(src, "t", tokenizer=count, tokenizer_name="tiny")
    lengths = sorted(len(count(t)) for t in ("Wireless earbuds", "The quick brown fox"))
    assert (info.stats["lengths"]["min"], info.stats["lengths"]["max"]) == tuple(lengths)
    assert (info.stats["length_unit"], info.stats["tokenizer"]) == ("tokens", "tiny")


def test_unknown_missing_and_changed_copies(registry, tmp_path):
    with pytest.raises(UnknownDatasetError, match="Unknown dataset 'x'. Known datasets: \\(none\\)"):
        registry.get("x")
    info = registry.add(write(tmp_path / "d.jsonl", ALPACA), "shop")
    with open(info.path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}) + "\n")
    with pytest.raises(DatasetRegistryError, match="changed since it was added"):
        registry.load("shop")
    assert len(registry.load("shop", verify=False)) == 5
    registry.remove("shop")
    with pytest.raises(UnknownDatasetError, match="Known datasets: \\(none\\)"):
        registry.load("shop")


def run(*args: str):
    root = typer.Typer()
    root.add_typer(app, name="data")
    return CliRunner().invoke(root, ["data", *args])


def test_cli_add_list_show_rm(home, tmp_path):
    src = write(tmp_path / "shop.jsonl", ALPACA)
    result = run("add", str(src), "--name", "shop")
    assert result.exit_code == 0, result.output
    assert "Added shop: 4 records (alpaca from" in result.output
    assert "shop" in run("list").output and "messages" in run("list").output
    result = run("show", "shop")
    assert result.exit_code == 0, result.output
    assert "shop: 4 records, format messages (from alpaca file" in result.output
    assert "length (characters): min 24" in result.output and "Classify: red running shoe" in result.output
    result = run("add", str(src), "--name", "shop")
    assert result.exit_code == 2 and "error: A dataset named 'shop' already exists" in result.output
    result = run("rm", "shop")
    assert result.exit_code == 0 and not (home / "datasets" / "shop.jsonl").exists()
    result = run("show", "shop")
    assert result.exit_code == 2 and "Unknown dataset 'shop'" in result.output


def test_cli_add_counts_tokens_with_model(home, store, tmp_path, tiny_model_dir):
    from tunelab.models.catalogue import Catalogue

    Catalogue(store).add("tiny", str(tiny_model_dir))
    src = write(tmp_path / "t.jsonl", [{"text": "Wireless earbuds"}])
    result = run("add", str(src), "--name", "t", "--model", "tiny")
    assert result.exit_code == 0, result.output
    assert "length (tokens of tiny)" in run("show", "t").output
    result = run("add", str(src), "--name", "u", "--model", "nope")
    assert result.exit_code == 2 and "Unknown model 'nope'" in result.output


def test_cli_add_invalid_file_exits_2(registry, tmp_path):
    src = write(tmp_path / "bad.jsonl", [{"instruction": "q"}])
    result = run("add", str(src), "--name", "bad")
    assert result.exit_code == 2 and "bad.jsonl line 1: field 'output': missing" in result.output
    assert registry.list() == []
