"""The pure pieces of curation: the language guess (script, then common words), the repetition share,
the n-gram index (13-grams, and short evaluation texts as whole grams), MinHash near duplicates (found
across small edits, not across different texts, first kept), and the question/answer of each record kind."""

from __future__ import annotations

import json

import pytest

from tunelab.data.decontam import NgramIndex
from tunelab.data.language import guess_language, language_mismatch
from tunelab.data.near_dedup import near_duplicates
from tunelab.data.quality import Rules, repeated_share, rule_failure
from tunelab.data.record_text import question_answer
from tunelab.data.records import ChatRecord, Message, PreferenceRecord, TextRecord


@pytest.mark.parametrize(("text", "language"), [
    ("What is the return policy for these shoes?", "English"),
    ("Vous pouvez les retourner dans les trente jours qui suivent la livraison.", "French"),
    ("Sie können die Schuhe innerhalb von dreißig Tagen zurückgeben, wenn sie nicht passen.", "German"),
    ("Puede devolver los zapatos en un plazo de treinta días y es gratis para usted.", "Spanish"),
    ("Вы можете вернуть товар в течение месяца", "Cyrillic"),
    ("返品は30日以内に可能です", "Japanese"),
    ("退货期限为三十天", "Han"),
    ("Yes.", None),  # too short to say
    ("Nova 300 trail runner", None),  # no common word
])
def test_guess_language(text, language):
    assert guess_language(text) == language


def test_language_mismatch_needs_both_sides_known():
    assert language_mismatch("Where is it made?", "Es wird in Deutschland gemacht und ist sehr gut.") is None  # unsure
    assert language_mismatch("Where is the jacket made and what is it made of?",
                             "Die Jacke wird in Deutschland gemacht und ist aus Wolle.") == \
        "the answer looks German, the question English"


def test_repeated_share_and_the_rules():
    assert repeated_share("a b c a b c a b c".split(), 3) == pytest.approx(1 - 3 / 7)
    assert repeated_share("a b".split(), 3) == 0.0
    rules = Rules()
    assert rule_failure("q?", "Fine answer here.", rules) is None
    assert rule_failure("q?", "ok", rules)[0] == "too_short"
    assert rule_failure("q?", "x" * 8001, rules)[0] == "too_long"
    assert rule_failure("Is it waterproof?", "is it waterproof", rules)[0] == "repeats_question"
    assert rule_failure("Is it waterproof?", "Yes, it is waterproof.", rules) is None  # similar, but an answer
    assert rule_failure("Tell me", "buy it now " * 5, rules) == ("repeated_ngrams", "77% of its word 3-grams repeat")


def test_ngram_index_finds_long_and_short_leaks():
    evals = ["The genre is indie rock, just as described by the seller on the product page today.",
             "No, mine is custom light, not light tension.",  # 8 words: one gram of its own
             "Would buy again."]  # under min_words: not looked for
    index = NgramIndex(evals, n=13, min_words=8)
    assert index.overlap("Fans say: the genre is INDIE rock — just as described by the seller on the product page.") \
        == "the genre is indie rock just as described by the seller on the"  # its first 13 words
    assert index.overlap("Reviewer: no, mine is custom light; not light tension!") == "no mine is custom light not light tension"
    assert index.overlap("I would buy again.") is None
    assert index.overlap("The genre is indie rock.") is None  # 5 shared words are not a 13-gram


def test_near_duplicates_keep_the_first_of_each_group():
    a = "You can return any pair of shoes within thirty days of delivery for a full refund, no questions asked."
    texts = [a, "Orders ship within two business days from our warehouse in Leeds.",
             a.replace("shoes", "boots").replace(",", " -"), a.upper(), "You can return any item within 30 days."]
    found = near_duplicates(texts, threshold=0.8)
    assert sorted(found) == [2, 3] and found[2][0] == 0 and found[3] == (0, 1.0)
    assert near_duplicates(texts, threshold=0.8) == found  # seeded: the same every run
    with pytest.raises(ValueError, match="Jaccard"):
        near_duplicates(texts, threshold=0)


def test_question_and_answer_of_each_record_kind():
    user, bot = Message(role="user", content="Q?"), Message(role="assistant", content="A.")
    assert question_answer(ChatRecord(messages=[Message(role="system", content="s"), user, bot])) == ("Q?", "A.")
    pair = PreferenceRecord(prompt=[user], chosen=[bot], rejected=[Message(role="assistant", content="B.")])
    assert question_answer(pair) == ("Q?", "A.")
    qa_user = Message(role="user", content="[QA] Answer...\n\nSources:\n[1] x\n\nQuestion: How long?")
    qa_bot = Message(role="assistant", content=json.dumps({"answerable": True, "answer": "A week.", "citations": [1]}))
    assert question_answer(ChatRecord(messages=[qa_user, qa_bot])) == ("How long?", "A week.")
    assert question_answer(TextRecord(text="plain")) == ("", "plain")
