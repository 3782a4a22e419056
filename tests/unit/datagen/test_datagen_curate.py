"""`curate_dataset` on a file with planted problems, each found by its own step and counted: exact
duplicates (also with other case, punctuation and spacing), near duplicates (a word changed), leaks of
the packaged sample's test split (a copied answer, a copied product description), and one record for
each rule; the removed records are in the side file with step and reason; the rest is registered with
lineage. A curate that would remove everything writes nothing. The LLM judge (a hosted model on
loopback) removes the records it scores below the threshold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_chat_server import FakeChatServer
from typer.testing import CliRunner

from tunelab.cli import app
from tunelab.data.registry import DatasetRegistry
from tunelab.datagen.curate import CurateConfig, curate_dataset
from tunelab.datagen.errors import DatagenError

GOOD = [
    ("How long do I have to return a jacket?", "You can return it within thirty days of delivery for a full refund."),
    ("Where do orders ship from?", "Every order leaves our warehouse in Leeds within two business days."),
    ("Do international orders pay customs?", "Yes, customs duties are paid by the recipient when the parcel arrives."),
    ("How should I wash the rain jacket?", "Wash it cold on a gentle cycle and hang it to dry away from heat."),
    ("Is the kettle covered by a warranty?", "Every kettle carries a two year warranty against manufacturing faults."),
    ("Can I change the size of my order?", "Size exchanges are free as long as the item is unworn and has its tags."),
    ("What payment methods are accepted?", "We accept cards, PayPal and bank transfers for orders over fifty pounds."),
    ("How do I track my parcel?", "The confirmation email holds a tracking link that updates every few hours."),
]
PLANTED = [
    # exact duplicates (1 identical, 1 with other case, punctuation and spacing)
    GOOD[0],
    ("how long do I have to return a JACKET", "You can return it within thirty days of delivery, for a full refund!"),
    # near duplicates: one word changed
    ("Where do orders ship from?", "Every order leaves our warehouse in York within two business days."),
    ("How should I wash the rain jacket?", "Wash it cold on a gentle cycle and hang it to dry away from sunlight."),
    # leaks of the sample's qa test split (an answer copied) and classify test split (a product description)
    ("Is the tension light?", "No, mine is custom light, not light tension."),
    ("Tell me about these socks.", "Designed for cold winter mornings, this pack of socks from Stridely keeps things simple."),
    # one per rule
    ("What colour is the kettle?", "Red"),  # too_short
    ("What colour is the lamp?", "What colour is the lamp?"),  # repeats_question
    ("Tell me about the tent.", "The tent is great " * 6),  # repeated_ngrams
    ("What is the return policy for the shoes?", "Vous pouvez retourner les chaussures dans les trente jours qui "
                                                 "suivent la livraison."),  # language
]
EXPECTED = {"exact_dedup": 2, "near_dedup": 2, "decontaminate qa:test": 1, "decontaminate classify:test": 1,
            "empty": 1, "too_short": 1, "too_long": 0, "repeats_question": 1, "repeated_ngrams": 1, "language": 1}


def chat(q: str, a: str) -> dict:
    return {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}


def qa_empty_answer() -> dict:
    """A [QA] record (as `data generate --kind qa` writes them) whose JSON answer is empty."""
    user = "[QA] Answer the question from the sources only.\n\nSources:\n[1] Shipping takes a week.\n\nQuestion: How long?"
    return {"messages": [{"role": "user", "content": user},
                         {"role": "assistant", "content": json.dumps({"answerable": True, "answer": "", "citations": [1]})}]}


@pytest.fixture
def planted(tmp_path) -> Path:
    rows = [chat(q, a) for q, a in GOOD + PLANTED] + [qa_empty_answer()]
    path = tmp_path / "generated.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_each_planted_problem_is_found_and_counted(settings, store, planted):
    out = curate_dataset(CurateConfig(input=str(planted), name="clean", against=["qa:test", "classify:test"]),
                         settings, store, progress=False)
    assert {s.step: s.removed for s in out.steps} == EXPECTED
    assert out.dataset.num_records == len(GOOD) and out.input_records == len(GOOD) + len(PLANTED) + 1
    kept = DatasetRegistry(store, settings).load("clean")
    assert [r.messages[-1].content for r in kept] == [a for _, a in GOOD]
    removed = [json.loads(x) for x in Path(out.removed_file).read_text().splitlines()]
    by_index = {r["index"]: r for r in removed}
    n = len(GOOD)
    assert by_index[n]["step"] == "exact_dedup" and "record 0" in by_index[n]["reason"]
    assert by_index[n + 2]["step"] == "near_dedup" and "record 1" in by_index[n + 2]["reason"]
    assert by_index[n + 4]["reason"] == "shares 'no mine is custom light not light tension' with qa:test"
    assert by_index[n + 5]["step"] == "decontaminate classify:test"
    assert by_index[n + 9]["reason"] == "the answer looks French, the question English"
    assert by_index[n + 10]["step"] == "empty"
    assert by_index[n + 6]["record"] == chat(*PLANTED[6])  # the record itself, as it was
    lineage = DatasetRegistry(store, settings).get("clean").stats["lineage"]
    assert lineage["curated_from"] == str(planted) and lineage["kept"] == len(GOOD)
    assert {s["step"]: s["removed"] for s in lineage["steps"]} == EXPECTED


def test_a_curate_that_would_remove_everything_writes_nothing(settings, store, tmp_path):
    path = tmp_path / "echo.jsonl"
    path.write_text("".join(json.dumps(chat(q, q)) + "\n" for q in ("Is it red?", "Does it fold flat?")))
    with pytest.raises(DatagenError, match=r"would remove every record \(repeats_question 2\); nothing was written"):
        curate_dataset(CurateConfig(input=str(path), name="none-left"), settings, store, progress=False)
    assert "none-left" not in DatasetRegistry(store, settings).names()
    assert not list(DatasetRegistry(store, settings).datasets_dir().glob("*none-left*"))


def test_decontaminate_against_a_file_split_and_a_dataset(settings, store, planted, tmp_path):
    evals = tmp_path / "my-eval.jsonl"
    evals.write_text(json.dumps({"q": "x", "a": "Every kettle carries a two year warranty against manufacturing faults.",
                                 "split": "test"}) + "\n" + json.dumps({"a": GOOD[1][1], "split": "train"}) + "\n")
    out = curate_dataset(CurateConfig(input=str(planted), name="c2", against=[f"{evals}:test"]), settings, store,
                         progress=False)
    assert {s.step: s.removed for s in out.steps}[f"decontaminate {evals}:test"] == 1  # the train row is not looked for
    held_out = tmp_path / "held-out.jsonl"
    held_out.write_text(json.dumps(chat("Customs?", GOOD[2][1])) + "\n")
    DatasetRegistry(store, settings).add(held_out, "held-out")
    out = curate_dataset(CurateConfig(input="c2", name="c3", against=["held-out"]), settings, store, progress=False)
    assert {s.step: s.removed for s in out.steps}["decontaminate held-out"] == 1
    assert out.dataset.num_records == len(GOOD)  # c2: GOOD less the kettle, plus the two leaks; less the customs one
    with pytest.raises(DatagenError, match="not TASK:SPLIT"):
        curate_dataset(CurateConfig(input="c2", name="c4", against=["nope:test"]), settings, store, progress=False)


def test_the_judge_removes_records_below_the_threshold(settings, store, planted):
    def verdict(body):
        candidate = body["messages"][-1]["content"].split("Candidate output:\n", 1)[1]
        score = 2 if "Leeds" in candidate or "PayPal" in candidate else 4
        return json.dumps({"score": score, "reason": "names a place" if score == 2 else "fine"})

    with FakeChatServer(verdict) as server:
        spec = server.register(store)
        out = curate_dataset(CurateConfig(input=str(planted), name="judged", judge=spec, threshold=3), settings, store,
                             progress=False)
    judge = next(s for s in out.steps if s.step == "judge")
    assert judge.removed == 2 and judge.reasons == {"judge score below 3": 2}
    assert len(server.requests) == len(GOOD) + 2  # only what the cheaper steps kept is judged (2 leaks stay here)
    assert all(b["response_format"]["json_schema"]["schema"]["required"] == ["score", "reason"] for b in server.requests)


def test_cli_prints_each_step_and_registers(home, planted):
    out = CliRunner().invoke(app, ["data", "curate", str(planted), "--name", "cli-clean", "--against", "qa:test"])
    assert out.exit_code == 0, out.output
    assert "exact_dedup" in out.stdout and "near duplicate" in out.stdout and "repeats the question" not in out.stdout
    assert f"kept {len(GOOD) + 1} of {len(GOOD) + len(PLANTED) + 1} records" in out.stdout  # the socks leak stays
    shown = CliRunner().invoke(app, ["data", "show", "cli-clean"])
    assert f"curated: from {planted}" in shown.stdout
    again = CliRunner().invoke(app, ["data", "curate", str(planted), "--name", "cli-clean"])
    assert again.exit_code == 2 and "already exists" in again.stderr
