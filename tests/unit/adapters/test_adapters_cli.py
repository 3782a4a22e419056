"""`tunelab adapters ...` as a user runs it (the sub-app mounted on a root app, as the main CLI does)."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from tunelab.cli.adapters import app


def run(*args: str):
    root = typer.Typer()
    root.add_typer(app, name="adapters")
    return CliRunner().invoke(root, ["adapters", *args])


def test_list_show_merge_export_rm(two_adapters, settings, tmp_path):
    result = run("list")
    assert result.exit_code == 0, result.output
    assert "a" in result.output and "tiny" in result.output

    result = run("merge", "a", "b", "--weights", "0.7,0.3", "--method", "ties", "--density", "0.5", "--name", "ab")
    assert result.exit_code == 0, result.output
    assert "Merged a, b with weights [0.7, 0.3] (ties) into ab" in result.output
    assert "ties of a, b" in run("list").output

    result = run("show", "ab")
    assert result.exit_code == 0, result.output
    assert "ab (lora)" in result.output and "base model: tiny (sha256 " in result.output
    lineage = json.loads(result.output.split("lineage:\n", 1)[1])
    assert (lineage["parents"], lineage["method"], lineage["density"]) == (["a", "b"], "ties", 0.5)

    result = run("export", "ab", "--out", str(tmp_path / "peft"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "peft" / "adapter_model.safetensors").is_file()
    result = run("export", "ab", "--merged", str(tmp_path / "full"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "full" / "config.json").is_file() and "no PEFT needed" in result.output

    result = run("rm", "ab", "--yes")
    assert result.exit_code == 0 and "Removed ab" in result.output
    assert not (settings.home / "adapters" / "ab").exists()


def test_default_weights_are_equal(two_adapters):
    result = run("merge", "a", "b", "--method", "cat", "--name", "avg")
    assert result.exit_code == 0, result.output
    assert "with weights [0.5, 0.5] (cat)" in result.output


def test_errors_exit_2_with_a_reason(two_adapters, tmp_path):
    result = run("show", "nope")
    assert result.exit_code == 2 and "error: Unknown adapter 'nope'. Known adapters: a, b." in result.output
    result = run("merge", "a", "b", "--method", "ties", "--name", "x")
    assert result.exit_code == 2 and "needs a density" in result.output
    result = run("merge", "a", "b", "--weights", "half,half", "--name", "x")
    assert result.exit_code == 2 and "not a comma-separated list of numbers" in result.output
    result = run("export", "a")
    assert result.exit_code == 2 and "exactly one of --merged DIR, --out DIR or --gguf FILE" in result.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    result = run("export", "a", "--merged", str(tmp_path / "full"))
    assert result.exit_code == 2 and "already exists and is not empty" in result.output


def test_export_gguf(two_adapters, tmp_path):
    result = run("export", "a", "--gguf", str(tmp_path / "shop.gguf"), "--quant", "f16")
    assert result.exit_code == 0, result.output
    assert f"Wrote {tmp_path / 'shop.gguf'} (f16, " in result.output and "21 tensors) and shop.Modelfile" in result.output
    assert "ollama create NAME -f shop.Modelfile" in result.output
    assert (tmp_path / "shop.gguf").read_bytes()[:4] == b"GGUF"
    assert (tmp_path / "shop.Modelfile").read_text().count("FROM ./shop.gguf") == 1

    result = run("export", "a", "--gguf", str(tmp_path / "shop.gguf"))  # taken: refused, kept
    assert result.exit_code == 2 and "shop.gguf already exists; choose another file name" in result.output
    for both in (["--merged", str(tmp_path / "m")], ["--out", str(tmp_path / "o")]):
        result = run("export", "a", "--gguf", str(tmp_path / "x.gguf"), *both)
        assert result.exit_code == 2 and "exactly one of --merged DIR, --out DIR or --gguf FILE" in result.output
    result = run("export", "a", "--merged", str(tmp_path / "m"), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "exactly one of" in result.output
    result = run("export", "a", "--merged", str(tmp_path / "m"), "--quant", "f16")
    assert result.exit_code == 2 and "--quant applies to --gguf only" in result.output
    result = run("export", "a", "--gguf", str(tmp_path / "x.gguf"), "--quant", "q4")
    assert result.exit_code == 2 and "error: GGUF quantization 'q4' is not one of: q8_0, f16." in result.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == ["shop.Modelfile", "shop.gguf"]


def test_rm_asks_first(two_adapters):
    root = typer.Typer()
    root.add_typer(app, name="adapters")
    result = CliRunner().invoke(root, ["adapters", "rm", "a"], input="n\n")
    assert result.exit_code == 1 and "Remove adapter 'a' (its files at" in result.output
    assert two_adapters.get("a")
    result = CliRunner().invoke(root, ["adapters", "rm", "a"], input="y\n")
    assert result.exit_code == 0 and two_adapters.names() == ["b"]
