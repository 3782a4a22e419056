"""Extraction metrics: SQuAD exact match / token F1, JSON exact match and slot P/R/F1, by hand."""

from __future__ import annotations

import pytest

from tunelab.eval.metrics import (
    exact_match,
    json_exact_match,
    normalize_answer,
    normalize_value,
    slot_scores,
    token_f1,
)


def test_normalize_answer_follows_squad():
    assert normalize_answer("The  Cat's HAT!") == "cats hat"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert normalize_answer("theatre") == "theatre"  # articles only as whole words
    assert normalize_answer("  The ") == ""


def test_exact_match_hand_computed():
    preds = ["The Eiffel Tower", "paris", None, "red"]
    refs = ["eiffel tower!", ["Paris, France", "Paris"], "", "blue"]
    # 1: "eiffel tower" = "eiffel tower" → 1
    # 2: "paris" matches the second acceptable answer → 1
    # 3: None is the empty answer, reference "" → 1
    # 4: "red" ≠ "blue" → 0          → 3/4
    assert exact_match(preds, refs) == 0.75


def test_token_f1_hand_computed():
    preds = ["the big red dog", None, "", "blue"]
    refs = ["a red dog barked", "x", "the", ["red", "blue sky"]]
    # 1: [big, red, dog] vs [red, dog, barked]: common 2 → P = R = 2/3 → F1 = 2/3
    # 2: None = "" vs [x]: one side empty → 0
    # 3: "" vs "the" → both normalise to no tokens → 1
    # 4: best of "red" (0) and "blue sky" (P = 1, R = 1/2 → F1 = 2/3) → 2/3
    # mean = (2/3 + 0 + 1 + 2/3) / 4 = 7/12
    assert token_f1(preds, refs) == pytest.approx(7 / 12)
    # repeated tokens count as a multiset: [dog, dog, dog] vs [dog] → common 1, P = 1/3, R = 1 → F1 = 1/2
    assert token_f1(["dog dog dog"], ["dog"]) == pytest.approx(0.5)


def test_string_metrics_refuse_bad_items():
    with pytest.raises(ValueError, match=r"predictions\[0\]"):
        exact_match([3], ["3"])
    with pytest.raises(ValueError, match=r"references\[0\]"):
        token_f1(["a"], [[]])


def test_json_exact_match_hand_computed():
    preds = ['{"b": 1, "a": [1, 2]}', {"a": True}, "not json", {"x": 1.0}, {"s": "Red"}]
    refs = [{"a": [1, 2], "b": 1.0}, {"a": 1}, {"z": 1}, '{"x": 1}', {"s": "red"}]
    # 1: parsed, key order and 1 vs 1.0 ignored → 1
    # 2: true is not 1 in JSON → 0
    # 3: unparseable prediction → 0
    # 4: reference parsed from text, 1.0 vs 1 → 1
    # 5: strings are compared as they are, "Red" ≠ "red" → 0        → 2/5
    assert json_exact_match(preds, refs) == pytest.approx(0.4)
    with pytest.raises(ValueError, match=r"references\[0\] is not valid JSON"):
        json_exact_match(["{}"], ["{oops"])


def test_normalize_value():
    assert normalize_value(2) == normalize_value(2.0) == normalize_value("2") == "2"
    assert normalize_value(1.5) == normalize_value("1.5")
    assert normalize_value(["Red", "red."]) == normalize_value("RED") == "red"
    assert normalize_value(["red", "blue"]) == normalize_value(("Blue", "Red")) == frozenset({"red", "blue"})
    assert normalize_value(True) == "true"
    for empty in (None, "", "  ", "The", [], [None, ""]):
        assert normalize_value(empty) is None


def test_slot_scores_hand_computed():
    refs = [
        {"color": "Red", "size": "M", "brand": None},
        {"color": "blue", "size": None, "brand": "Acme"},
        {"color": "green", "size": "L"},
    ]
    preds = [
        {"color": "red.", "size": "S", "brand": "Nike"},
        {"color": None, "size": "XL", "brand": "ACME"},
        None,  # nothing extracted
    ]
    scores = slot_scores(preds, refs)
    # color: red=red TP; None vs blue FN; None vs green FN          → (1, 0, 2): P 1, R 1/3, F1 1/2
    # size:  S vs M FP+FN; XL vs None FP; None vs L FN              → (0, 2, 2): 0, 0, 0
    # brand: Nike vs None FP; ACME = Acme TP; missing vs missing -  → (1, 1, 0): P 1/2, R 1, F1 2/3
    assert scores.counts == {"color": (1, 0, 2), "size": (0, 2, 2), "brand": (1, 1, 0)}
    assert scores.per_attribute["color"] == pytest.approx((1.0, 1 / 3, 0.5))
    assert scores.per_attribute["size"] == (0.0, 0.0, 0.0)
    assert scores.per_attribute["brand"] == pytest.approx((0.5, 1.0, 2 / 3))
    # micro over summed counts (2, 3, 4): P = 2/5, R = 2/6 = 1/3, F1 = 2·(2/5)·(1/3)/(2/5 + 1/3) = 4/11
    assert scores.micro == pytest.approx((0.4, 1 / 3, 4 / 11))
    # macro F1 = (1/2 + 0 + 2/3) / 3 = 7/18
    assert scores.macro_f1 == pytest.approx(7 / 18)


def test_slot_scores_attribute_selection_json_text_and_invented_keys():
    refs = ['{"color": "red"}', {"color": "blue"}]
    preds = ['{"color": "Red", "weight": "2 kg"}', "```json broken"]
    # color: TP, then FN (unparseable prediction fills no slot); weight: invented → FP
    assert slot_scores(preds, refs).counts == {"color": (1, 0, 1), "weight": (0, 1, 0)}
    # with a fixed schema the invented key is ignored, and a schema key nobody fills counts nothing
    assert slot_scores(preds, refs, attributes=["color", "size"]).counts == {"color": (1, 0, 1), "size": (0, 0, 0)}
    with pytest.raises(ValueError, match=r"references\[1\] is a list"):
        slot_scores([{}, {}], [{}, ["color"]])
