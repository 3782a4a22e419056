"""answer_question on tiny random models through a real batching engine: the reply always validates
against the [QA] schema (answerable with citations in 1..n, or NOT_IN_CONTEXT with none), both
branches; citations are checked against the answer's words; no sources never reaches the model; parsing of replies an upstream may send."""

from __future__ import annotations

import json

import jsonschema
import pytest
from ecommerce_task_helpers import engine_model, run
from tiny_model import build_tiny_model

from tunelab.rag.cited_qa import QAAnswer, answer_many, answer_question, check_citations, parse_answer, qa_schema
from tunelab.tasks.ecommerce.datasets import load_sample_qa
from tunelab.tasks.ecommerce.prompts import NOT_IN_CONTEXT


@pytest.fixture(scope="module")
def records():
    return load_sample_qa("test")[:8]


@pytest.fixture
def tiny_answers(settings, store, tmp_path):
    """A tiny model built with seed 1: at temperature 0 it picks "answerable": true (seed 0, the `tiny`
    fixture, picks false), so the answered branch of the schema runs through the engine too."""
    from tunelab.models.catalogue import Catalogue
    from tunelab.models.loader import load_model

    Catalogue(store).add("tiny-seed1", str(build_tiny_model(tmp_path / "tiny-seed1", seed=1)))
    return load_model("tiny-seed1", settings, store=store)


def check(a, sources: list[str]) -> None:
    n = len(sources)
    raw = json.loads(a.raw)
    jsonschema.validate(raw, qa_schema(n))
    assert list(raw) == ["answerable", "answer", "citations"]
    assert (a.answerable, a.answer) == (raw["answerable"], raw["answer"])
    assert a.citations == check_citations(parse_answer(a.raw, n), sources).citations
    assert all(1 <= c <= n for c in a.citations) and len(set(a.citations)) == len(a.citations)
    if a.answerable:
        assert a.answer.strip() and a.citations
    else:
        assert a.answer == NOT_IN_CONTEXT and a.citations == []


@pytest.mark.parametrize("which, answerable", [("tiny", False), ("tiny_answers", True)])
def test_replies_validate_on_both_branches(request, records, which, answerable):
    loaded = request.getfixturevalue(which)

    async def go():
        async with engine_model(loaded) as model:
            return await answer_many(model, [r.question for r in records], [r.review_snippets for r in records],
                                     max_tokens=48, mode="free")

    answers = run(go())
    for a, r in zip(answers, records):
        check(a, r.review_snippets)
    assert {a.answerable for a in answers} == {answerable}


def test_no_sources_means_not_answerable_without_the_model(tiny):
    async def go():
        async with engine_model(tiny) as model:
            out = [await answer_question(model, "Is it waterproof?", sources) for sources in ([], ["  ", ""])]
            return out, model.engine.steps

    answers, steps = run(go())
    assert steps == 0  # the engine never ran a step
    assert all((a.answerable, a.answer, a.citations) == (False, NOT_IN_CONTEXT, []) for a in answers)


def test_empty_question_is_an_error_naming_the_record(tiny):
    async def go():
        async with engine_model(tiny) as model:
            return await answer_question(model, " ", ["It is blue."], record_id="q-17")

    with pytest.raises(ValueError, match="record 'q-17'"):
        run(go())


def test_parse_answer_drops_bad_citations_and_reads_free_text():
    a = parse_answer('{"answerable": true, "answer": "Blue.", "citations": [2, 2, 0, 9, true, 1]}', 3)
    assert (a.answerable, a.answer, a.citations) == (True, "Blue.", [2, 1])
    a = parse_answer('{"answerable": false, "answer": "maybe", "citations": [1]}', 3)
    assert (a.answerable, a.answer, a.citations) == (False, NOT_IN_CONTEXT, [])
    a = parse_answer("It is blue, says review 1.", 3)
    assert (a.answerable, a.answer, a.citations) == (True, "It is blue, says review 1.", [])
    assert parse_answer("Sorry: the sources do not contain the answer", 3).answerable is False
    assert parse_answer("", 3).answerable is False


def test_citations_are_checked_against_what_the_answer_says():
    sources = ["Fast shipping, well packed.", "The strap is genuine leather.", "Leather smell at first."]

    def cited(answer: str, citations: list[int]) -> list[int]:
        return check_citations(QAAnswer(answer, True, citations, raw=""), sources).citations

    assert cited("Yes, genuine leather.", [1]) == [2]  # [1] says nothing of it: the best match instead
    assert cited("Yes, genuine leather.", [3, 1]) == [3]  # a cited source that shares a word stays
    assert cited("Yes.", [1]) == [1]  # nothing to check against: as the model said
    assert check_citations(QAAnswer("Yes [1].", True, [1], raw=""), ["Blue strap.", "It is 1 m long."]).citations == [1]
    refused = QAAnswer(NOT_IN_CONTEXT, False, [], raw="")
    assert check_citations(refused, sources) == refused


def test_schema_refuses_out_of_range_and_inconsistent_replies():
    validator = jsonschema.Draft202012Validator(qa_schema(2))
    assert validator.is_valid({"answerable": True, "answer": "Yes", "citations": [2]})
    assert validator.is_valid({"answerable": False, "answer": NOT_IN_CONTEXT, "citations": []})
    for bad in ({"answerable": True, "answer": "Yes", "citations": [3]},
                {"answerable": True, "answer": "Yes", "citations": []},
                {"answerable": True, "answer": "", "citations": [1]},
                {"answerable": False, "answer": "Yes", "citations": []},
                {"answerable": False, "answer": NOT_IN_CONTEXT, "citations": [1]}):
        assert not validator.is_valid(bad), bad
