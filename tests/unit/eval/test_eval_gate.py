"""Gates on hand-built results: parsing (no eval), arithmetic, outcomes per candidate, refusals."""

import math

import pytest

from tunelab.eval.gate import GateError, check_gates, parse_gate
from tunelab.eval.results import EvalResult


def result(**metrics_by_model) -> EvalResult:
    return EvalResult(task="classify", split="test", models=list(metrics_by_model), metrics=metrics_by_model)


RUN = result(
    base={"f1": 0.40, "accuracy": 0.50, "exact_match": 0.30, "recall@10": 0.7},
    good={"f1": 0.43, "accuracy": 0.61, "exact_match": 0.30, "recall@10": 0.9},
    bad={"f1": 0.41, "accuracy": 0.45, "exact_match": 0.29, "recall@10": 0.6},
)


def outcome(gate: str, run: EvalResult = RUN) -> dict[str, bool]:
    return {o.model: o.passed for o in check_gates(run, [gate])}


def test_gate_against_the_baseline_checks_every_candidate():
    outs = check_gates(RUN, ["f1 >= baseline + 0.02"])
    assert [o.model for o in outs] == ["good", "bad"]  # the baseline is not a candidate
    good, bad = outs
    assert good.passed and not bad.passed
    assert good.left == pytest.approx(0.43) and good.right == pytest.approx(0.42)
    assert bad.left == pytest.approx(0.41) and bad.right == pytest.approx(0.42)
    assert "baseline f1 0.4" in bad.detail and "0.41" in bad.detail


@pytest.mark.parametrize("gate, expected", [
    ("accuracy > 0.5", {"good": True, "bad": False}),
    ("exact_match >= baseline", {"good": True, "bad": False}),
    ("exact_match == baseline", {"good": True, "bad": False}),
    ("exact_match != baseline", {"good": False, "bad": True}),
    ("accuracy <= 0.45", {"good": False, "bad": True}),
    ("accuracy < baseline.accuracy", {"good": False, "bad": True}),
    ("recall@10 >= baseline * 1.2", {"good": True, "bad": False}),  # 0.9 >= 0.84; 0.6 < 0.84
    ("(accuracy - baseline.accuracy) * 10 > 1", {"good": True, "bad": False}),  # 1.1 > 1; -0.5
    ("-accuracy < -0.5", {"good": True, "bad": False}),
    ("f1 + accuracy >= 1", {"good": True, "bad": False}),  # 1.04; 0.86
    ("accuracy / baseline.accuracy >= 1.2", {"good": True, "bad": False}),  # 1.22; 0.9
    ("1e-1 < f1", {"good": True, "bad": True}),
])
def test_gate_operators_and_arithmetic(gate, expected):
    assert outcome(gate) == expected


def test_precedence_is_multiplication_before_addition():
    # 0.5 + 0.1 * 2 = 0.7 (not 1.2): good's 0.61 fails, and with 0.7 <= 0.9 recall passes
    assert outcome("accuracy >= 0.5 + 0.1 * 2") == {"good": False, "bad": False}
    assert outcome("recall@10 >= 0.5 + 0.1 * 2") == {"good": True, "bad": False}


def test_a_single_model_is_gated_on_its_own():
    single = result(only={"accuracy": 0.7})
    outs = check_gates(single, ["accuracy > 0.5", "accuracy >= baseline"])
    assert [(o.model, o.passed) for o in outs] == [("only", True), ("only", True)]


def test_a_metric_that_could_not_be_computed_fails_the_gate():
    run = result(base={"judge": math.nan}, cand={"judge": 4.0})
    assert outcome("judge >= baseline", run) == {"cand": False}
    assert outcome("judge >= 3", run) == {"cand": True}


def test_unknown_metric_lists_the_runs_metrics():
    with pytest.raises(GateError) as err:
        check_gates(RUN, ["bleu >= baseline"])
    message = str(err.value)
    assert "bleu" in message and "f1, accuracy, exact_match, recall@10" in message


@pytest.mark.parametrize("text, where", [
    ("f1 >=", "ends too early"),
    ("f1 baseline", "expected a comparison"),
    ("f1 >= 0.5 0.2", "unexpected '0.2'"),
    ("f1 = 0.5", "cannot read"),
    ("__import__('os').system('true') > 0", "cannot read"),
    ("f1 >= (baseline + 0.02", "not closed"),
    ("f1 >= > 2", "expected a number or a metric name"),
    ("f1 > baseline + accuracy - baseline", "ambiguous"),
    ("0.5 < baseline", "ambiguous"),
    ("good.f1 > 0", "only `baseline.METRIC`"),
    ("   ", "empty"),
])
def test_bad_gates_are_refused_with_the_reason(text, where):
    with pytest.raises(GateError) as err:
        parse_gate(text)
    assert where in str(err.value)


def test_parse_names_the_metrics_read():
    gate = parse_gate("f1 >= baseline + 0.02")
    assert gate.metrics() == ["f1"] and gate.op == ">="
