"""Grounded QA: sentences cut with offsets that point back into their source, headings left out,
long ones split; BM25 over crude stems; on the tiny model through a real engine the answer is a
candidate sentence copied verbatim with its source cited, a question that shares no word with the
sources is not answerable without asking the model, and "auto" picks grounded for a small local
model; a model that cannot score picks under a choice constraint over the candidates."""

from __future__ import annotations

import pytest
from ecommerce_task_helpers import engine_model, run

from tunelab.rag.cited_qa import answer_question, resolve_mode
from tunelab.rag.grounded_qa import MAX_SPAN_CHARS, bm25_scores, candidate_spans, ground
from tunelab.tasks.ecommerce.prompts import NOT_IN_CONTEXT

SOURCES = ["Returns.\nYou can return any unused item within 45 days of delivery. Sale items cannot be returned.",
           "The Trailblazer 2 is a two-person dome tent. It weighs 2.3 kg packed! Price: 199.99 EUR per tent."]


def test_sentences_point_back_into_their_source():
    spans = candidate_spans(SOURCES)
    assert [s.text for s in spans] == [
        "You can return any unused item within 45 days of delivery.", "Sale items cannot be returned.",
        "The Trailblazer 2 is a two-person dome tent.", "It weighs 2.3 kg packed!", "Price: 199.99 EUR per tent."]
    assert all(SOURCES[s.source - 1][s.start:s.end] == s.text for s in spans)  # "2.3" and "199.99" stay whole
    long = "; ".join(f"clause number {i} of a run-on sentence" for i in range(40)) + "."
    parts = candidate_spans([long])
    assert len(parts) > 1 and all(len(p.text) <= MAX_SPAN_CHARS for p in parts)
    assert all(long[p.start:p.end] == p.text for p in parts)


def test_bm25_matches_word_forms():
    spans = candidate_spans(SOURCES)
    scores = bm25_scores("How much does the tent weigh?", spans)
    assert scores[3] > 0 and scores[0] == 0  # "weigh" finds "weighs"; the returns sentence shares nothing


def test_a_grounded_answer_is_a_source_sentence_with_its_offsets(tiny):
    async def go():
        async with engine_model(tiny) as model:
            mode = resolve_mode(model)
            answer = await answer_question(model, "How many days do I have to return an item?", SOURCES)
            found = await ground(model, "How much does the tent weigh?", SOURCES)
            nothing = await answer_question(model, "Do you sell gift cards?", SOURCES, mode="grounded")
            return mode, answer, found, nothing

    mode, answer, found, nothing = run(go())
    assert mode == "grounded" and answer.mode == "grounded"
    if answer.answerable:
        q = answer.quote
        assert answer.answer == q.text == SOURCES[q.source - 1][q.start:q.end] and answer.citations == [q.source]
    texts = [q.text for q, _ in found.candidates]
    assert "It weighs 2.3 kg packed!" in texts  # named by the sentence before it, and by its own stem
    assert [s for _, s in found.candidates] == sorted((s for _, s in found.candidates), reverse=True)
    assert not nothing.answerable and nothing.answer == NOT_IN_CONTEXT and nothing.citations == []


class ChoosingUpstream:
    """What an upstream gives grounded QA: no likelihoods, and a reply under the choice constraint
    (here the last allowed choice, so the test sees which candidates were offered)."""

    def __init__(self) -> None:
        self.offered: tuple[str, ...] = ()

    async def score(self, messages, options, *, mean=False):
        return None

    async def complete(self, messages, *, max_tokens=256, constraint=None, **kw):
        self.offered = constraint.choices
        return constraint.choices[-1]


def test_a_model_that_cannot_score_picks_under_a_choice_constraint():
    model = ChoosingUpstream()
    assert resolve_mode(model) == "free"  # auto: free for upstreams
    a = run(answer_question(model, "How much does the tent weigh?", SOURCES, mode="grounded"))
    assert a.answerable and a.answer == model.offered[-1] and set(model.offered) <= {s.text for s in candidate_spans(SOURCES)}
    with pytest.raises(ValueError, match="not one of"):
        resolve_mode(model, "creative")
