"""docs/learn.md's python blocks run, in order, in one namespace (as a reader would paste them), on
the packaged default model: each block's own asserts check what the text says."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_every_python_block_runs(default_home, default_model, monkeypatch, capsys):
    monkeypatch.setenv("TUNELAB_HOME", str(default_home))  # default_model converted the model there
    monkeypatch.chdir(ROOT)  # the recipe block names a path relative to the repository root
    blocks = BLOCK.findall((ROOT / "docs" / "learn.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 10
    namespace: dict = {}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"docs/learn.md block {i + 1}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"docs/learn.md python block {i + 1} failed:\n{code}") from exc
    out = capsys.readouterr().out
    assert "' Paris'" in out and "held-out loss" in out
