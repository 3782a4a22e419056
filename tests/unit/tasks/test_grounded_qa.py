"""Grounded QA: sentences cut with offsets that point back into their source, headings left out,
long ones split; BM25 over crude stems; on the tiny model through a real engine the answer is a
candidate sentence copied verbatim with its source cited, a question that shares no word with the
sources is not answerable without asking the model, and "auto" picks grounded for a small local
model; a model that cannot score picks under a choice constraint over the candidates; list items are
answers (with the line that introduces their list), headings and a page's title line are not; the ranking reads each sentence
under its page title and section heading."""

from __future__ import annotations

import pytest
from ecommerce_task_helpers import engine_model, run

from tunelab.rag.answer_types import answer_units, counted_noun, counts, expand_question, has_unit, regions
from tunelab.rag.cited_qa import answer_question, resolve_mode
from tunelab.rag.grounded_qa import (
    MAX_SPAN_CHARS,
    _stem,
    answer_text,
    bm25_scores,
    candidate_spans,
    ground,
    key_named,
)
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


PAGE = ("Payment Options\n\nAccepted payment methods:\n- iDEAL\n- PayPal\n- Klarna: pay in 30 days\n\n"
        "In the box\n- 1 cast iron skillet\n\nGift vouchers\nThey are valid for 3 years from the date of purchase.")


def test_list_items_are_candidates_headings_are_not_and_items_answer_with_their_lead():
    spans = candidate_spans([PAGE])
    texts = [s.text for s in spans]
    assert "- PayPal" in texts and "- iDEAL" in texts  # a one-word list item is an answer
    assert "Payment Options" not in texts and "In the box" not in texts and "Gift vouchers" not in texts
    paypal = spans[texts.index("- PayPal")]
    assert answer_text([PAGE], paypal) == "Accepted payment methods: PayPal"
    assert answer_text([PAGE], spans[texts.index("- 1 cast iron skillet")]) == "In the box: 1 cast iron skillet"
    told = "We ship every day.\n- Express: 8.90 EUR"
    assert answer_text([told], candidate_spans([told])[-1]) == "Express: 8.90 EUR"  # a sentence is no lead
    vouchers = spans[-1]
    assert answer_text([PAGE], vouchers) == vouchers.text and PAGE[vouchers.start:vouchers.end] == vouchers.text


def test_a_title_line_over_a_page_is_no_answer_a_one_line_source_is():
    page = "Hydrating Day Cream SPF 30\n\nA light daily moisturiser with SPF 30. Size: 50 ml."
    assert [s.text for s in candidate_spans([page])] == ["A light daily moisturiser with SPF 30.", "Size: 50 ml."]
    assert [s.text for s in candidate_spans(["Free delivery on orders over 50 EUR"])] == [
        "Free delivery on orders over 50 EUR"]
    hours = "Opening hours\nMonday: closed\nTuesday - Friday: 10 a.m. - 5 p.m."
    assert "Monday: closed" in [s.text for s in candidate_spans([hours])]  # two words, but "key: value"
    told = "We ship in 2 days to all 3 countries\nExpress is next day."  # a statement, not a title: kept
    assert [s.text for s in candidate_spans([told])] == ["We ship in 2 days to all 3 countries", "Express is next day."]


def test_stems_and_answer_words():
    assert _stem("frames") == _stem("frame") and _stem("charged") == _stem("charging") == _stem("charge")
    assert _stem("boxes") == _stem("box")
    assert "weight" in expand_question("How heavy is the pan?") and "range" in expand_question("How far can it go?")
    assert expand_question("Which colour is it?") == "Which colour is it?"


class FixedScores:
    """A model whose query likelihood of the question is fixed per passage (by a word in it)."""

    def __init__(self, by_word: dict[str, float]) -> None:
        self.by_word, self.asked = by_word, []

    async def score(self, messages, options, *, mean=False):
        passage = messages[-1]["content"]
        self.asked.append(passage)
        return [next((v for w, v in self.by_word.items() if w in passage), -5.0)]

    async def complete(self, messages, *, max_tokens=256, constraint=None, **kw):
        raise AssertionError("a model that scores is never asked to write")


def test_the_ranking_adds_query_likelihood_cosine_and_bm25_and_reads_each_sentence_with_its_section():
    model = FixedScores({"3 years": -1.0, "PayPal": -4.0})
    found = run(ground(model, "When does my gift voucher run out?", [PAGE], embedder=False))  # BM25 alone
    assert found.quote is not None and "3 years" in found.quote.text
    scores = [s for _, s in found.candidates]
    assert scores == sorted(scores, reverse=True) and len(found.candidates) == len(model.asked)
    assert any(p.startswith("Passage: Payment Options > Gift vouchers: They are valid") for p in model.asked)


def test_a_sentence_does_not_end_at_an_abbreviation():
    texts = [s.text for s in candidate_spans(["Hours\n- Saturday: 10 a.m. - 6 p.m.\n- Weekdays: 8 a.m. to 8 p.m. "
                                              "Closed on Sundays. Weighs approx. 2 kg. We ship e.g. to Spain."])]
    assert texts == ["- Saturday: 10 a.m. - 6 p.m.", "- Weekdays: 8 a.m. to 8 p.m.", "Closed on Sundays.",
                     "Weighs approx. 2 kg.", "We ship e.g. to Spain."]


def test_what_a_question_asks_for():
    assert answer_units("How long do I have to send it back?") == ["duration"]
    assert "money" in answer_units("What does express delivery cost?") and answer_units("Is it dishwasher safe?") == []
    assert has_unit("You can return it within 30 days.", ["duration"]) and not has_unit("A 4.95 EUR fee.", ["duration"])
    assert has_unit("Express: 8.90 EUR", ["money"]) and has_unit("Open 9:00 to 17:00", ["clock"])
    assert not has_unit("Blade length: 20 cm", ["weight"]) and has_unit("Weight: 1.35 kg", ["weight"])
    assert "return" in expand_question("Can I send it back?")
    assert "New Zealand" in expand_question("Can you post it to me in Auckland?")
    assert "EU" in expand_question("Shipping to Germany?") and "United States" not in expand_question("A shop in York?")
    assert has_unit("Order before 1 p.m. and it leaves the same day.", ["clock"])  # "p.m." then a space
    assert set(answer_units("What's the deadline to skip a delivery?")) >= {"clock", "day"}
    assert has_unit("Skip it by Sunday night.", ["day"]) and has_unit("Returns until 31st January.", ["day"])
    assert not has_unit("We roast in small batches.", ["day", "clock"])


def test_the_kind_of_value_asked_for_moves_the_ranking_and_a_question_is_never_the_answer():
    faq = ("FAQ\n\nHow long do returns take?\nOur team handles returns with care and a 4.95 EUR fee.\n"
           "Refunds reach you within 5 working days.")
    model = FixedScores({"How long do returns": 0.0, "care": -1.0, "Refunds": -1.5})
    found = run(ground(model, "How long do returns take?", [faq], embedder=False))
    assert found.quote is not None and found.quote.text == "Refunds reach you within 5 working days."


def test_a_sentence_goes_on_after_pm_before_a_day_and_a_price_is_no_time():
    texts = [s.text for s in candidate_spans(["Courier\nOrders placed before 1 p.m. Monday to Thursday arrive the next "
                                              "day. Open until 8 p.m. Closed on Sundays."])]
    assert texts == ["Orders placed before 1 p.m. Monday to Thursday arrive the next day.", "Open until 8 p.m.",
                     "Closed on Sundays."]
    assert not has_unit("Available for NZ$12.00.", ["clock"]) and has_unit("Tastings at 10.30 on Saturdays", ["clock"])


def test_phone_numbers_time_ago_counts_and_regions():
    assert answer_units("whats ur phone number") == ["phone"] and answer_units("what is your email") == ["email"]
    assert has_unit("Call us on (07) 3555 0148.", ["phone"]) and has_unit("Tel: 555-0163", ["phone"])
    assert not has_unit("Orders from $50 to $2,000", ["phone"]) and not has_unit("Open 10 a.m. - 6 p.m.", ["phone"])
    assert answer_units("bought it 6 wks ago, can i send it back?") == ["duration"]
    assert "duration" in answer_units("got it about 2 months back, too late?")
    assert counted_noun("how many pages is that book") == "page" and counted_noun("how many days do I have") is None
    assert counts("Pages: 288", "page") and counts("A 288-page guide with 40 maps", "map")
    assert not counts("Weight: 520 g", "page")
    assert regions("im in belfast") == regions("Northern Ireland") != regions("Dublin")
    assert regions("to the United States") == regions("Boston") and not regions("a tent for two")


def test_a_key_names_what_the_question_asks_for_not_its_subject():
    assert key_named("Waterproofing: 20,000 mm", "how waterproof is the jacket really?")
    assert key_named("- Wattage: 1200 W", "what's the wattage of the kettle")
    assert not key_named("Battery: 630 Wh", "How far can the bike go before the battery is flat?")
    assert not key_named("Jersey weight: 310 g", "how long do i have to send back a jersey?")


def test_the_answer_takes_the_next_sentence_when_that_one_states_the_value_asked_for():
    page = ("Delivery\n\nCourier Overnight\nAvailable to most city addresses for NZ$12.00. Orders placed before 1 p.m. "
            "are delivered the next working day.\n\nReturns\nYou can return a book within 30 days.")
    model = FixedScores({"Available": -0.5, "Orders": -3.0, "return": -4.0})
    found = run(ground(model, "whats the cutoff time for the overnight courier?", [page], embedder=False))
    assert found.quote is not None and found.quote.text == ("Available to most city addresses for NZ$12.00. Orders "
                                                            "placed before 1 p.m. are delivered the next working day.")
    assert page[found.quote.start:found.quote.end] == found.quote.text
    found = run(ground(model, "how much is the overnight courier?", [page], embedder=False))
    assert found.quote is not None and found.quote.text == "Available to most city addresses for NZ$12.00."


def test_a_line_for_another_region_loses_to_the_one_for_the_shoppers():
    page = ("Shipping\n\n- Great Britain (England, Scotland, Wales): 9.95 EUR\n- Northern Ireland: 6.95 EUR\n"
            "- Ireland: 4.95 EUR")
    model = FixedScores({"Great Britain": -1.0, "Northern": -1.6, "- Ireland": -1.2})
    found = run(ground(model, "im in belfast, how much will shipping cost me?", [page], embedder=False))
    assert found.quote is not None and "6.95" in found.quote.text
