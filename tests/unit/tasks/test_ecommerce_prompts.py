"""Prompts and SFT examples of the e-commerce tasks: task prefixes, training prompts identical to
inference prompts, replies that the constrained decoders' schemas accept, and the SFT dataset that
TuneLab's own loader reads back."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tunelab.data.loader import load_dataset
from tunelab.data.records import ChatRecord
from tunelab.rag.cited_qa import qa_schema
from tunelab.tasks.ecommerce.attributes import attribute_json_schema, parse_attribute_spec
from tunelab.tasks.ecommerce.datasets import load_sample_attributes, load_sample_products, load_sample_qa
from tunelab.tasks.ecommerce.prompts import (
    NOT_IN_CONTEXT,
    SYSTEM,
    build_sft_dataset,
    classification_example,
    classify_messages,
    extract_messages,
    extraction_example,
    qa_example,
    qa_messages,
    reply_json,
    supporting_sources,
)


def user_turn(messages):
    assert [m["role"] for m in messages] == ["system", "user"] and messages[0]["content"] == SYSTEM
    return messages[1]["content"]


def test_classify_prompt_has_prefix_text_and_no_candidates():
    text = user_turn(classify_messages("  Wool hiking socks, 3 pairs  "))
    assert text.startswith("[CLASSIFY]") and text.endswith("Wool hiking socks, 3 pairs")
    assert "Google Product Taxonomy" in text and "Apparel" not in text  # no candidate list


def test_extract_prompt_lists_attributes_with_types_in_order():
    spec = parse_attribute_spec({"Material": "string", "Pack Size": "integer", "Size": ["S", "M"]})
    text = user_turn(extract_messages("Cotton socks, 3 pairs, size M", spec))
    assert text.startswith("[EXTRACT]") and text.endswith("Cotton socks, 3 pairs, size M")
    lines = [ln for ln in text.splitlines() if ln.startswith("- ")]
    assert lines == ["- Material (string)", "- Pack Size (integer)", '- Size (one of: "S", "M")']


def test_qa_prompt_numbers_sources():
    text = user_turn(qa_messages("Is it waterproof?", ["Great boots.", "Kept my feet dry in rain."]))
    assert text.startswith("[QA]") and "[1] Great boots.\n[2] Kept my feet dry in rain." in text
    assert text.endswith("Question: Is it waterproof?") and NOT_IN_CONTEXT in text


def test_classification_example_is_the_inference_prompt_plus_the_path():
    product = load_sample_products("train")[0]
    ex = classification_example(product)
    assert ex["messages"][:-1] == classify_messages(product.text())
    assert ex["messages"][-1] == {"role": "assistant", "content": product.category_path}
    with pytest.raises(ValueError, match=repr(product.id)):
        classification_example(product.model_copy(update={"category_path": None}))


def test_extraction_examples_follow_the_spec_and_validate():
    record = next(r for r in load_sample_attributes("train") if any(a.value is None for a in r.attributes))
    ex = extraction_example(record)
    reply = ex["messages"][-1]["content"]
    values = json.loads(reply)
    assert list(values) == [a.key for a in record.attributes]
    assert values == record.values() and None in values.values()
    assert reply == reply_json(values) and ", " in reply and '": ' in reply  # the engine's JSON separators

    keys = [a.key for a in record.attributes]
    spec = parse_attribute_spec(["Not There", *reversed(keys)])
    values = json.loads(extraction_example(record, spec)["messages"][-1]["content"])
    assert list(values) == list(spec) and values["Not There"] is None
    assert ex["messages"][:-1] == extract_messages(record.text(), parse_attribute_spec(keys))

    for record in load_sample_attributes():  # every training target is a reply the constraint allows
        spec = parse_attribute_spec([a.key for a in record.attributes])
        jsonschema.validate(json.loads(extraction_example(record)["messages"][-1]["content"]),
                            attribute_json_schema(spec))


def test_qa_examples_refuse_or_cite_and_match_the_qa_schema():
    records = load_sample_qa()
    tripod = next(r for r in records if r.question == "What is the maximum height of this tripod?" and r.is_answerable)
    reply = json.loads(qa_example(tripod)["messages"][-1]["content"])
    assert reply["answerable"] is True and reply["answer"] == tripod.answer
    assert [tripod.review_snippets[c - 1] for c in reply["citations"]] == \
        ["The maximum height is 58 inches, just as described."]

    refused = next(r for r in records if r.is_answerable is False)
    assert json.loads(qa_example(refused)["messages"][-1]["content"]) == \
        {"answerable": False, "answer": NOT_IN_CONTEXT, "citations": []}

    for record in records:
        ex = qa_example(record)
        assert ex["messages"][:-1] == qa_messages(record.question, record.review_snippets)
        jsonschema.validate(json.loads(ex["messages"][-1]["content"]), qa_schema(len(record.review_snippets)))


def test_supporting_sources_falls_back_to_all():
    sources = ["Arrived early.", "The strap is genuine leather.", "Leather smells great."]
    assert supporting_sources("Yes, genuine leather.", sources) == [2]
    assert supporting_sources("Yes.", sources) == [1, 2, 3]


def test_build_sft_dataset_writes_messages_that_load_back(tmp_path):
    path = tmp_path / "sft" / "train.jsonl"
    n = build_sft_dataset("train", ("classify", "extract"), path=path)
    want = len(load_sample_products("train")) + len([r for r in load_sample_attributes("train") if r.attributes])
    assert n == want == len(path.read_text().splitlines())
    loaded = load_dataset(path)
    assert loaded.format == "messages" and len(loaded.records) == n
    assert all(isinstance(r, ChatRecord) and r.messages[-1].role == "assistant" for r in loaded.records)
    prefixes = {r.messages[1].content.split("]")[0] + "]" for r in loaded.records}
    assert prefixes == {"[CLASSIFY]", "[EXTRACT]"}
    firsts = [r.messages[1].content[:3] for r in loaded.records[:40]]
    assert len(set(firsts)) == 2  # shuffled: the tasks interleave

    assert build_sft_dataset("test", ("qa",), path=tmp_path / "qa.jsonl") == len(load_sample_qa("test"))
    with pytest.raises(ValueError, match="summarise"):
        build_sft_dataset("train", ("summarise",), path=tmp_path / "x.jsonl")
