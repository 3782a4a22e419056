"""Feedback records and the preference pairs they make: the pair rules (an edit beats the answer it
improves, a side-by-side winner beats each other answer, a rating alone makes none, same texts and
repeats are skipped and counted), the store's filters by owner, model, adapter and ids, the
registered dataset with its provenance (on SQLite and PostgreSQL), and `tunelab feedback list |
export | build-dataset`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pg_support import settings_on_each_backend, store_on_each_backend  # noqa: F401 - fixtures: SQLite, then PostgreSQL
from typer.testing import CliRunner

from tunelab.cli import app
from tunelab.data.feedback import (
    Answer,
    FeedbackError,
    FeedbackInfo,
    UnknownFeedbackError,
    add_feedback,
    delete_feedback,
    get_feedback,
    list_feedback,
)
from tunelab.data.feedback_pairs import build_preference_dataset, export_feedback, pairs_from_feedback
from tunelab.data.records import PreferenceRecord
from tunelab.data.registry import DatasetRegistry
from tunelab.store import FeedbackAnswer

PROMPT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Best tea for mornings?"}]


def info(id_, answers, *, rating=None, answer_index=0, edit=None, choice=None) -> FeedbackInfo:
    return FeedbackInfo(id=id_, created_at=datetime.now(UTC), owner=None, messages=PROMPT,
                        answers=[Answer("base", a, t) for a, t in answers], answer_index=answer_index, rating=rating,
                        edit=edit, choice=choice, source="test", conversation_id=None, note=None)


def texts(record: PreferenceRecord) -> tuple[str, str]:
    return record.chosen[0].content, record.rejected[0].content


def test_pair_rules():
    items = [
        info("edit", [("a", "Coffee.")], rating=-1, edit="Black tea: strong and bright."),
        info("pick", [("a", "Green tea."), ("b", "Assam.")], choice=1),
        info("three", [("a", "Sencha."), ("b", "Earl Grey."), ("c", "Chai.")], choice=0),
        info("up", [("a", "Oolong.")], rating=1),
        info("down", [("a", "Soda.")], rating=-1),
        info("both", [("a", "Milk."), ("b", "Rooibos.")], answer_index=0, edit="Darjeeling.", choice=1),
        info("same", [("a", "Assam."), ("b", "Assam. ")], choice=0),
        info("again", [("a", "Green tea."), ("b", "Assam.")], choice=1),
        info("blank", [("a", " \n")], rating=-1, edit="Assam, strong."),  # the answer was stopped at once
    ]
    build = pairs_from_feedback(items)
    assert [texts(r) for r in build.records] == [
        ("Black tea: strong and bright.", "Coffee."),  # the edit is chosen, the answer it improves rejected
        ("Assam.", "Green tea."),  # the side-by-side winner over the other
        ("Sencha.", "Earl Grey."), ("Sencha.", "Chai."),  # one pair per loser
        ("Darjeeling.", "Milk."), ("Rooibos.", "Milk."),  # an edit and a choice: both pairs
    ]
    assert [s["feedback_id"] for s in build.sources] == ["edit", "pick", "three", "three", "both", "both"]
    assert [s["rule"] for s in build.sources] == ["edit", "choice", "choice", "choice", "edit", "choice"]
    assert all(r.prompt[0].role == "system" and r.prompt[-1].content == "Best tea for mornings?" for r in build.records)
    counts = build.counts()
    assert counts["feedback"] == 9 and counts["pairs"] == 6
    assert counts["from_edits"] == 2 and counts["from_choices"] == 4
    assert counts["skipped"] == {"rating_only": 2, "identical_answers": 1, "duplicate_pair": 1, "blank_answer": 1}
    assert counts["skipped_ids"] == [{"id": "up", "reason": "rating_only"}, {"id": "down", "reason": "rating_only"},
                                     {"id": "same", "reason": "identical_answers"},
                                     {"id": "again", "reason": "duplicate_pair"},
                                     {"id": "blank", "reason": "blank_answer"}]
    assert build.used_ids == ["edit", "pick", "three", "both"]


def side_by_side(store, owner, a, b, choice=0):
    return add_feedback(store, PROMPT, [{"model": "base", "adapter": a, "text": f"from {a}"},
                                        {"model": "base", "adapter": b, "text": f"from {b}"}],
                        owner=owner, choice=choice)


def test_store_filters_by_owner_model_adapter_and_ids(store):
    one = side_by_side(store, "alice", "shop", "shop-dpo")
    two = add_feedback(store, PROMPT, [{"model": "other", "text": "hm"}], owner="bob", rating=1)
    three = side_by_side(store, None, "shop-dpo", None, choice=1)
    ids = lambda **kw: [f.id for f in list_feedback(store, **kw)[0]]  # noqa: E731
    assert ids() == [three.id, two.id, one.id]  # newest first
    assert ids(visible_to="alice") == [one.id] and ids(visible_to="carol") == []
    assert ids(adapter="shop-dpo") == [three.id, one.id] and ids(adapter="shop") == [one.id]
    assert ids(model="other") == [two.id] and ids(model="base", adapter="shop") == [one.id]
    assert ids(model="other", adapter="shop") == []  # both from one answer
    assert ids(ids=[one.id, two.id], visible_to="bob") == [two.id]
    page, total = list_feedback(store, limit=2, offset=1)
    assert [f.id for f in page] == [two.id, one.id] and total == 3
    got = get_feedback(store, one.id, visible_to="alice")
    assert got.answers[1] == Answer("base", "shop-dpo", "from shop-dpo") and got.choice == 0 and got.owner == "alice"
    with pytest.raises(UnknownFeedbackError, match=one.id):
        get_feedback(store, one.id, visible_to="bob")  # another key's record is not there
    with pytest.raises(UnknownFeedbackError):
        delete_feedback(store, one.id, visible_to="bob")
    assert delete_feedback(store, one.id).id == one.id
    assert ids() == [three.id, two.id]
    with store.session() as s:  # its answer index went with it
        assert {r.feedback_id for r in s.query(FeedbackAnswer)} == {two.id, three.id}


def test_build_dataset_registers_pairs_with_provenance(settings, store):
    edit = add_feedback(store, PROMPT, [{"model": "base", "adapter": "shop", "text": "Coffee."}], rating=-1,
                        edit="Black tea.")
    only = add_feedback(store, PROMPT, [{"model": "base", "adapter": "shop", "text": "Water."}], rating=-1)
    pick = side_by_side(store, "alice", "shop", "other", choice=1)
    side_by_side(store, None, "x", "y")  # neither from shop: filtered out
    info, build = build_preference_dataset(store, settings, "shop-prefs", adapter="shop")
    assert info.format == "preference" and info.num_records == 2 and build.feedback == 3
    assert info.provenance["kind"] == "feedback" and info.provenance["feedback_ids"] == [edit.id, pick.id]
    assert info.provenance["filters"] == {"ids": None, "model": None, "adapter": "shop"}
    assert info.provenance["skipped"] == {"rating_only": 1}
    assert DatasetRegistry(store, settings).get("shop-prefs").provenance == info.provenance
    records = DatasetRegistry(store, settings).load("shop-prefs")  # the copy loads back (hash checked)
    assert [texts(r) for r in records] == [("Black tea.", "Coffee."), ("from other", "from shop")]

    with pytest.raises(FeedbackError, match="No preference pair can be made from the 1 feedback record.*rating alone"):
        build_preference_dataset(store, settings, "none", ids=[only.id])
    with pytest.raises(UnknownFeedbackError, match="fb-nope"):
        build_preference_dataset(store, settings, "none", ids=[edit.id, "fb-nope"])
    with pytest.raises(UnknownFeedbackError, match=pick.id):
        build_preference_dataset(store, settings, "none", ids=[pick.id], visible_to="bob")  # alice's record
    with pytest.raises(ValueError, match="already exists"):
        build_preference_dataset(store, settings, "shop-prefs")
    assert DatasetRegistry(store, settings).names() == ["shop-prefs"]

    lines = [json.loads(x) for x in export_feedback(store, pairs=True).splitlines()]
    assert lines[0] == {"prompt": PROMPT, "chosen": [{"role": "assistant", "content": "Black tea."}],
                        "rejected": [{"role": "assistant", "content": "Coffee."}]}
    assert [r["id"] for r in map(json.loads, export_feedback(store, adapter="shop").splitlines())] == \
        [edit.id, only.id, pick.id]  # oldest first


runner = CliRunner()


def test_cli_list_export_build_dataset(home, tmp_path):
    from tunelab.cli.common import settings, store

    a = add_feedback(store(), PROMPT, [{"model": "base", "adapter": "shop", "text": "Coffee."}], edit="Tea.",
                     owner="alice")
    b = add_feedback(store(), PROMPT, [{"model": "base", "text": "Juice."}], rating=1)
    listed = runner.invoke(app, ["feedback", "list"], catch_exceptions=False)
    assert listed.exit_code == 0 and "2 of 2 feedback records" in listed.stdout
    assert a.id in listed.stdout and "edit of #0" in listed.stdout and "+1 on #0" in listed.stdout
    only = runner.invoke(app, ["feedback", "list", "--adapter", "shop"], catch_exceptions=False).stdout
    assert a.id in only and b.id not in only

    out = tmp_path / "fb.jsonl"
    assert runner.invoke(app, ["feedback", "export", "--out", str(out)], catch_exceptions=False).exit_code == 0
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [a.id, b.id]
    pairs = runner.invoke(app, ["feedback", "export", "--pairs"], catch_exceptions=False).stdout
    assert [json.loads(x)["chosen"][0]["content"] for x in pairs.splitlines()] == ["Tea."]

    built = runner.invoke(app, ["feedback", "build-dataset", "from-chat"], catch_exceptions=False)
    assert built.exit_code == 0, built.output
    assert "1 pairs from 1 of 2 feedback records (1 from edits" in built.stdout and "skipped 1" in built.stdout
    assert DatasetRegistry(store(), settings()).get("from-chat").provenance["feedback_ids"] == [a.id]
    bad = runner.invoke(app, ["feedback", "build-dataset", "again", "--id", b.id])
    assert bad.exit_code == 2 and "No preference pair" in bad.output
