"""`tunelab predict`: batch inference over a dataset file with the tiny model, one line per input
with its id; a stopped run continues where it stopped; `tunelab eval --predictions` scores the file;
a file from another dataset is refused, naming the line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tunelab.cli import app
from tunelab.tasks.ecommerce.datasets import sample_path

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def lines(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_predict_extract_resume_and_eval_reads_it(home, tiny_model_dir, tmp_path):
    run("models", "add", "tiny", tiny_model_dir)
    data = tmp_path / "attributes.jsonl"  # extract: no taxonomy index to build, so the test stays quick
    rows = [json.loads(x) for x in sample_path("attributes").read_text().splitlines()]
    data.write_text("".join(json.dumps({**r, "split": "test"}) + "\n" for r in rows[:4]))
    out = tmp_path / "preds.jsonl"
    first = run("predict", data, "-m", "tiny", "--task", "extract", "--out", out)
    assert first.exit_code == 0, first.output
    got = lines(out)
    assert len(got) == 4 and {g["model"] for g in got} == {"tiny"}
    assert all(isinstance(g["prediction"], (dict, str)) for g in got)
    again = run("predict", data, "-m", "tiny", "--task", "extract", "--out", out)
    assert "0 predictions written" in again.output and "4 already there" in again.output
    # a run stopped mid-line: the damaged last line is redone, the others kept
    text = out.read_text().splitlines()
    out.write_text("\n".join(text[:3]) + "\n" + text[3][:10])
    resumed = run("predict", data, "-m", "tiny", "--task", "extract", "--out", out)
    assert "1 predictions written" in resumed.output and len(lines(out)) == 4
    assert sorted(g["id"] for g in lines(out)) == sorted(g["id"] for g in got)

    scored = run("eval", "--task", "extract", "--data", data, "--predictions", out)
    assert scored.exit_code == 0, scored.output
    assert "valid_json" in scored.output and "preds" in scored.output

    other = tmp_path / "other.jsonl"
    other.write_text(out.read_text().replace(got[0]["id"], "not-in-this-dataset", 1))
    refused = run("predict", data, "-m", "tiny", "--task", "extract", "--out", other)
    assert refused.exit_code == 2 and "not-in-this-dataset" in refused.output and "line" in refused.output


def test_predict_chat_answers_each_prompt(home, tiny_model_dir, tmp_path):
    run("models", "add", "tiny", tiny_model_dir)
    data = tmp_path / "prompts.jsonl"
    data.write_text('{"input": "Name a fruit.", "output": "Apple."}\n'
                    '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}\n')
    refused = run("predict", data, "-m", "tiny", "--out", tmp_path / "p.jsonl")
    assert refused.exit_code == 2  # two formats in one file: the loader names the record
    data.write_text('{"input": "Name a fruit.", "output": "Apple."}\n{"instruction": "Say hi", "output": "Hi"}\n')
    out = tmp_path / "p.jsonl"
    result = run("predict", data, "-m", "tiny", "--out", out, "--max-tokens", "5")
    assert result.exit_code == 0, result.output
    got = lines(out)
    assert sorted(g["id"] for g in got) == ["0", "1"] and all(isinstance(g["prediction"], str) for g in got)
