"""`tunelab data validate`: what a user sees for a good file, a bad one, and a LLaMA-Factory folder."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from tunelab.cli.data import app
from tunelab.data import dataset_hash, load_dataset


def run(*args: str):
    root = typer.Typer()  # as the main CLI mounts it
    root.add_typer(app, name="data")
    return CliRunner().invoke(root, ["data", *args])


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_validate_good_file(tmp_path):
    path = write(tmp_path / "d.jsonl", [{"text": "red shoe", "label": "Apparel"}, {"text": "hammer", "label": "Tools"}])
    result = run("validate", str(path))
    assert result.exit_code == 0, result.output
    assert f"{path}: 2 records, format classification (detected)" in result.output
    assert "labels:  2: Apparel (1), Tools (1)" in result.output
    assert "length (characters): min 6, mean 7.0, p50 7, p95 8, max 8" in result.output
    assert dataset_hash(load_dataset(path).records) in result.output


def test_validate_bad_file_names_line_and_field_and_exits_2(tmp_path):
    path = write(tmp_path / "d.jsonl", [{"instruction": "q", "output": "a"}, {"instruction": "q [x]", "history": [["a"]], "output": "b"}])
    result = run("validate", str(path))
    assert result.exit_code == 2
    assert f"error: {path} line 2: field 'history[0]': expected a [user, assistant] pair, got 1 items" in result.output


def test_validate_skip_invalid_reports(tmp_path):
    path = write(tmp_path / "d.jsonl", [{"instruction": "q", "output": "a"}, {"instruction": "q"}])
    result = run("validate", str(path), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "1 records, format alpaca (detected)" in result.output
    assert "skipped 1 of 2 records" in result.output
    assert f"{path} line 2: field 'output': missing" in result.output


def test_validate_format_override_and_unknown_format(tmp_path):
    path = write(tmp_path / "d.jsonl", [{"text": "doc", "label": "x"}])
    assert "format text (given)" in run("validate", str(path), "--format", "text").output
    result = run("validate", str(path), "--format", "yaml")
    assert result.exit_code == 2 and "Unknown dataset format 'yaml'" in result.output


def test_validate_llamafactory_folder(tmp_path):
    (tmp_path / "dataset_info.json").write_text(json.dumps({"mine": {"file_name": "m.json", "columns": {"prompt": "q", "response": "a"}}}))
    (tmp_path / "m.json").write_text(json.dumps([{"q": "hi", "a": "hello"}]))
    result = run("validate", str(tmp_path), "--dataset", "mine")
    assert result.exit_code == 0, result.output
    assert "1 records, format alpaca (given)" in result.output



def test_validate_every_dataset_of_a_llamafactory_folder_one_line_each(tmp_path):
    (tmp_path / "dataset_info.json").write_text(json.dumps({
        "good": {"file_name": "g.json", "columns": {"prompt": "q", "response": "a"}},
        "chat": {"file_name": "c.jsonl", "formatting": "sharegpt"},
        "broken": {"file_name": "b.json", "columns": {"prompt": "q", "response": "a"}},
    }))
    (tmp_path / "g.json").write_text(json.dumps([{"q": "hi", "a": "hello"}, {"q": "2+2?", "a": "4"}]))
    (tmp_path / "c.jsonl").write_text(json.dumps({"conversations": [{"from": "human", "value": "hi"},
                                                                    {"from": "gpt", "value": "hey"}]}) + "\n")
    (tmp_path / "b.json").write_text(json.dumps([{"q": "hi", "a": "hello"}, {"q": "no answer"}]))
    for target in (tmp_path, tmp_path / "dataset_info.json"):  # the folder or its dataset_info.json
        result = run("validate", str(target))
        lines = [ln for ln in result.output.splitlines() if ln.strip()]
        assert result.exit_code == 2, result.output
        assert lines[0].startswith("ok      good: 2 records, format alpaca")
        assert lines[1].startswith("ok      chat: 1 records, format sharegpt")
        assert lines[2].startswith("invalid broken:") and "record 1" in lines[2] and "'a'" in lines[2]
        assert lines[3] == "2 of 3 datasets valid"
