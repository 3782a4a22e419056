"""The pure parts of scheduled evaluations: cadences (intervals and 5-field cron, checked against
dates worked out by hand) and which alerts a result raises against the accepted one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tunelab.jobs.cadence import CadenceError, parse_cadence
from tunelab.jobs.schedules import alerts_for

WED = datetime(2026, 12, 2, 14, 7, 30, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(("text", "expected"), [
    ("every 6h", datetime(2026, 12, 2, 20, 7, 30, tzinfo=UTC)),
    ("every  90s", datetime(2026, 12, 2, 14, 9, 0, tzinfo=UTC)),
    ("0 3 * * *", datetime(2026, 12, 3, 3, 0, tzinfo=UTC)),
    ("*/15 * * * *", datetime(2026, 12, 2, 14, 15, tzinfo=UTC)),
    ("30 9 * * 1-5", datetime(2026, 12, 3, 9, 30, tzinfo=UTC)),
    ("0 0 1 * *", datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
    ("0 12 * * 7", datetime(2026, 12, 6, 12, 0, tzinfo=UTC)),  # 7 is Sunday too
    ("0 0 29 2 *", datetime(2028, 2, 29, 0, 0, tzinfo=UTC)),
    ("0 0 13 * 5", datetime(2026, 12, 4, 0, 0, tzinfo=UTC)),  # both day fields: the 13th or a Friday
    ("5,10 8-9/1 * * *", datetime(2026, 12, 3, 8, 5, tzinfo=UTC)),
])
def test_next_run(text, expected):
    assert parse_cadence(text).next_after(WED) == expected


@pytest.mark.parametrize(("text", "why"), [
    ("hourly", "neither"), ("61 * * * *", "outside 0-59"), ("* * * * mon", "not \\*, N"),
    ("*/0 * * * *", "bad step"), ("every 0h", "at least"),
])
def test_bad_cadence(text, why):
    with pytest.raises(CadenceError, match=why):
        parse_cadence(text)


def test_alerts_for_failed_gates_and_drift_in_the_worse_direction():
    gates = [{"gate": "accuracy >= 0.8", "passed": False, "detail": "0.7 >= 0.8"},
             {"gate": "f1 > 0", "passed": True, "detail": "0.5 > 0"}]
    accepted = {"accuracy": 0.9, "f1": 0.5, "judge_invalid": 0.0, "latency_s": 1.0}
    metrics = {"accuracy": 0.7, "f1": 0.58, "judge_invalid": 0.2, "latency_s": 1.04}
    alerts = alerts_for(metrics, gates, accepted, 0.05, "shop")
    assert [(a["reason"], a["metric"]) for a in alerts] == [("gate", None), ("drift", "accuracy"),
                                                             ("drift", "judge_invalid")]
    assert "accuracy 0.7 against 0.9 accepted" in alerts[1]["message"]
    assert alerts_for(metrics, gates[1:], None, 0.05, "shop") == []  # nothing accepted yet: gates only
    assert alerts_for({"accuracy": 0.85}, [], {"accuracy": 0.9}, 0.05, "shop") == []  # exactly the drift: allowed


def test_schedules_cli_add_list_remove(home, tmp_path):
    from typer.testing import CliRunner

    from tunelab.cli import app

    runner = CliRunner()
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"prompt": "q", "chosen": "a", "rejected": "b"}\n')
    added = runner.invoke(app, ["schedules", "add", "nightly", "--every", "6h", "--model", "shop", "--task",
                                "preference", "--data", str(pairs), "--gate", "preference_accuracy>=0.8"])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["schedules", "list"])
    assert "nightly" in listed.output and "every 6h" in listed.output and "now" in listed.output
    bad = runner.invoke(app, ["schedules", "add", "x", "--every", "sometimes", "--model", "m", "--task", "qa"])
    assert bad.exit_code == 2 and "neither 'every N'" in bad.output
    gate = runner.invoke(app, ["schedules", "add", "x", "--every", "1h", "--model", "m", "--task", "qa",
                               "--gate", "f1 >= baseline +"])
    assert gate.exit_code == 2 and "gate" in gate.output
    assert runner.invoke(app, ["schedules", "accept", "nightly"]).exit_code == 2  # no result yet
    assert runner.invoke(app, ["alerts", "check"]).exit_code == 0
    assert runner.invoke(app, ["schedules", "remove", "nightly"]).exit_code == 0
    assert runner.invoke(app, ["schedules", "remove", "nightly"]).exit_code == 2
