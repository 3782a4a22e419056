"""Fact recall and citation precision: a number-keyed reference needs every number in the answer
(in any wording, 11.5 = 11.50), a word-keyed one half of its content words; citations count as
precise when the cited source states the fact."""

from __future__ import annotations

import math

from tunelab.eval.metrics.facts import citation_precision, fact_recall, key_of, states_fact


def test_numbers_are_the_key_when_there_are_any():
    assert key_of("It costs 11.50 EUR, delivered in 2 days") == ({"11.5", "2"}, set())
    assert states_fact("Express delivery costs 11.5 EUR and takes 2 days.", "11.50 EUR, 2 days")
    assert not states_fact("Express delivery costs 3.95 EUR and takes 2 days.", "11.50 EUR, 2 days")


def test_words_are_the_key_otherwise():
    assert states_fact("The flysheet is fully waterproof.", "Yes, it is waterproof")
    assert not states_fact("It is a dome tent.", "stainless steel lid")
    assert not states_fact("anything", "yes")  # a key of filler alone is no fact to find


def test_recall_and_precision_over_a_set():
    answers = ["Returns within 45 days.", "Shipping is free.", "It weighs 2.3 kg."]
    refs = ["45 days", "over 60 EUR", "2.3 kg"]
    assert fact_recall(answers, refs) == 2 / 3
    sources = [["Return within 45 days.", "Ships free."], ["Free over 60 EUR."], ["2.3 kg packed."]]
    assert citation_precision([[1, 2], [1], []], sources, refs) == 2 / 3
    assert math.isnan(citation_precision([[]], [["x"]], ["1"])) and math.isnan(fact_recall([], []))
