"""A feedback record that cannot be used is refused with the field named, and nothing is stored."""

from __future__ import annotations

import pytest

from tunelab.data.feedback import FeedbackError, add_feedback, list_feedback

PROMPT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Best tea for mornings?"}]
ANSWER = [{"model": "base", "adapter": None, "text": "Coffee."}]


@pytest.mark.parametrize("kwargs, field, words", [
    ({"messages": []}, "messages", "non-empty list"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}, "messages[1].role",
     "end with the user's turn"),
    ({"messages": [{"role": "boss", "content": "hi"}]}, "messages[0].role", "one of system"),
    ({"messages": [{"role": "user", "content": 3}]}, "messages[0].content", "expected text"),
    ({"answers": []}, "answers", "1 to 4 answers"),
    ({"answers": ANSWER * 5}, "answers", "1 to 4 answers"),
    ({"answers": [{"model": "", "text": "x"}]}, "answers[0].model", "must not be empty"),
    ({"answers": [{"model": "base", "adapter": "a"}]}, "answers[0].text", "expected text"),
    ({"rating": None}, "rating", "Give a rating"),
    ({"rating": 5}, "rating", "+1 (good) or -1"),
    ({"answer_index": 1}, "answer_index", "from 0 to 0"),
    ({"edit": " Coffee. "}, "edit", "same text as answers[0]"),
    ({"edit": "  "}, "edit", "must not be empty"),
    ({"choice": 0}, "choice", "this record has one"),
    ({"answers": ANSWER * 2, "choice": 2}, "choice", "from 0 to 1"),
    ({"source": "x" * 40}, "source", "at most 32"),
])
def test_bad_records_are_refused_naming_the_field(store, kwargs, field, words):
    args = {"messages": PROMPT, "answers": ANSWER, "rating": -1, **kwargs}
    with pytest.raises(FeedbackError) as err:
        add_feedback(store, args.pop("messages"), args.pop("answers"), **args)
    assert err.value.field == field and words in str(err.value)
    assert list_feedback(store) == ([], 0)  # nothing stored


