"""`tunelab data generate` with the packaged default model (SmolLM2-135M-Instruct) on two small
Markdown documents it has never seen: four instruction records come out, every one parsed from
constrained JSON, in English, pointing at its chunk; printed as the CLI prints them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunelab.cli import app
from tunelab.data.language import guess_language

pytestmark = pytest.mark.slow

RETURNS = """# Returns policy

You can return any unworn item within 30 days of delivery for a full refund. Refunds go back to the
card you paid with within five business days of the parcel reaching our warehouse.
"""
KETTLE = """# SteelBoil kettle

The SteelBoil electric kettle holds 1.7 litres and boils water in three minutes. It switches itself
off when the water boils or when the jug is lifted from its base.
"""


def test_default_model_writes_instruction_records_from_two_documents(default_model, default_home, tmp_path,
                                                                      monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text(RETURNS)
    (docs / "kettle.md").write_text(KETTLE)
    monkeypatch.setenv("TUNELAB_HOME", str(default_home))
    from tunelab.cli import common

    common.settings.cache_clear()
    common.store.cache_clear()
    name = f"policies-{uuid.uuid4().hex[:6]}"
    out = CliRunner().invoke(app, ["data", "generate", "--from", str(docs), "--kind", "instruction", "--n", "4",
                                   "--name", name, "--max-tokens", "32", "--question-tokens", "20"])
    common.settings.cache_clear()
    common.store.cache_clear()
    assert out.exit_code == 0, out.output
    assert f"Generated {name}: 4 instruction records" in out.stdout
    rows = [json.loads(x) for x in (default_home / "datagen" / f"{name}.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and {Path(r["meta"]["source"]).name for r in rows} == {"returns.md", "kettle.md"}
    for row in rows:
        meta, (user, bot) = row["meta"], row["messages"]
        assert Path(meta["source"]).read_text()[meta["start"]:meta["end"]] == meta["context"]
        assert user["content"].strip() and bot["content"].strip()
        assert guess_language(user["content"] + " " + bot["content"]) in ("English", None)
    print("\n".join(json.dumps(r["messages"]) for r in rows))  # what the model wrote, for a reader of -s
