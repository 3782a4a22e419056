"""The packaged synthetic e-commerce sample: sizes, labels against the taxonomy, evidence spans,
fixed splits, and byte-identical regeneration from generate.py."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from scripts.sample_data import generate, templates
from scripts.sample_data.vocab import MODEL_NAMES
from tunelab.tasks.ecommerce.datasets import (
    SPLITS,
    hash_split,
    load_sample_attributes,
    load_sample_products,
    load_sample_qa,
    sample_dir,
    sample_path,
)
from tunelab.tasks.ecommerce.taxonomy import Taxonomy

FILES = ("products.jsonl", "attributes.jsonl", "qa.jsonl", "DATA_CARD.md")


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in sample_path(name).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return Taxonomy.load()


@pytest.fixture(scope="module")
def products() -> list[dict]:
    return _rows("products")


@pytest.fixture(scope="module")
def attributes() -> list[dict]:
    return _rows("attributes")


@pytest.fixture(scope="module")
def qa() -> list[dict]:
    return _rows("qa")


def test_regeneration_is_byte_identical(tmp_path):
    written = generate.write(tmp_path)
    assert sorted(p.name for p in written) == sorted(FILES)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (sample_dir() / name).read_bytes(), f"{name} differs from a fresh generation"


def test_another_seed_gives_other_data(products):
    assert generate.generate(seed=1).products != products


def test_counts(products, attributes, qa):
    assert len(products) >= 400 and len(attributes) >= 300 and len(qa) >= 200
    assert len({p["id"] for p in products}) == len(products)
    assert len({a["id"] for a in attributes}) == len(attributes)
    assert len({q["qid"] for q in qa}) == len(qa)
    assert all(p["title"].strip() and p["description"].strip() and p["bullet_points"] for p in products)
    assert all(isinstance(p["price"], float) and p["price"] > 0 for p in products)


def test_labels_are_real_taxonomy_categories(products, tax):
    for p in products:
        assert tax.path(p["category_id"]) == p["category_path"], p["id"]
    categories = {p["category_id"] for p in products}
    assert {tax.ancestors(c, include_self=True)[0] for c in categories} == set(tax.top_level())  # all 21
    assert all(tax.is_leaf(c) and tax.depth(c) >= 2 for c in categories)
    assert sum(tax.depth(c) >= 3 for c in categories) > 0.9 * len(categories)
    per_category = Counter(p["category_id"] for p in products)
    assert min(per_category.values()) == max(per_category.values()) == generate.PRODUCTS_PER_KIND


def test_brands_and_titles_vary(products):
    assert len({p["title"] for p in products}) == len(products)
    assert len({p["brand"] for p in products}) >= 80
    # some titles name only a model, so the title alone does not always give the category away
    assert any(any(f"{m} " in p["title"] for m in MODEL_NAMES) for p in products)


def test_every_evidence_spells_its_value(attributes):
    evidences = 0
    for record in attributes:
        texts = [p["text"] for p in record["paragraphs"]]
        assert [p["source"] for p in record["paragraphs"]][:2] == ["title", "description"]
        for attribute in record["attributes"]:
            for e in attribute["evidences"]:
                assert texts[e["pid"]][e["begin"] : e["end"]] == e["value"], (record["id"], attribute["key"])
                evidences += 1
    assert evidences > 1000


def test_some_attributes_have_no_evidence(attributes):
    pairs = [a for r in attributes for a in r["attributes"]]
    absent = sum(not a["evidences"] for a in pairs)
    assert 0.05 * len(pairs) < absent < 0.3 * len(pairs)
    assert all(any(a["evidences"] for a in r["attributes"]) for r in attributes)  # each states something


def test_attribute_records_describe_sample_products(attributes, products, tax):
    by_id = {p["id"]: p for p in products}
    for record in attributes:
        product = by_id[record["id"]]
        assert record["paragraphs"][0]["text"] == product["title"]
        assert record["category"] == tax.name(product["category_id"])


def test_qa_mix(qa, products):
    ids = {p["id"] for p in products}
    assert all(q["asin"] in ids for q in qa)
    answerable = sum(q["is_answerable"] for q in qa)
    assert 0.3 * len(qa) < answerable < 0.8 * len(qa)
    assert Counter(q["questionType"] for q in qa).keys() == {"yesno", "descriptive"}
    assert all(q["answers"] and all(a["answerText"] for a in q["answers"]) for q in qa)
    assert all(3 <= len(q["review_snippets"]) <= 6 for q in qa)
    assert {a["answerType"] for q in qa for a in q["answers"]} == {"Y", "N", "NA"}


def _support_patterns() -> list[re.Pattern[str]]:
    """The templates of the snippets that answer a question, as regular expressions."""
    support = [t for ts in templates.SUPPORT_SNIPPETS.values() for t in ts] + list(templates.GENERIC_SUPPORT)
    support += [question[4] for question in templates.GENERIC_QUESTIONS]
    return [re.compile(re.sub(r"\\\{\w+\\\}", ".+", re.escape(t)) + "$") for t in support]


def test_only_answerable_questions_have_an_answering_snippet(qa):
    patterns = _support_patterns()
    for q in qa:
        supporting = [s for s in q["review_snippets"] if any(p.match(s) for p in patterns)]
        assert len(supporting) == (1 if q["is_answerable"] else 0), q["qid"]


def test_splits_fixed_by_product_id(products, attributes, qa):
    for p in products:
        assert p["split"] == hash_split(p["id"])
    split_of = {p["id"]: p["split"] for p in products}
    assert all(a["split"] == split_of[a["id"]] for a in attributes)
    assert all(q["split"] == split_of[q["asin"]] for q in qa)
    sets = {s: {p["id"] for p in products if p["split"] == s} for s in SPLITS}
    assert not (sets["train"] & sets["validation"] or sets["train"] & sets["test"] or sets["validation"] & sets["test"])
    counts = Counter(p["split"] for p in products)
    assert 0.6 < counts["train"] / len(products) < 0.8 and counts["validation"] and counts["test"]


def test_hash_split_is_pinned():
    assert [hash_split(f"syn-{n:05d}") for n in range(1, 6)] == ["validation", "test", "train", "validation", "train"]
    assert hash_split("x", validation=0.0, test=0.0) == "train"
    with pytest.raises(ValueError, match="sum to less than 1"):
        hash_split("x", validation=0.5, test=0.5)


def test_sample_loaders():
    products = load_sample_products()
    assert len(products) == len(_rows("products"))
    test = load_sample_products(split="test")
    assert test and all(p.split == "test" for p in test) and len(test) < len(products)
    assert products[0].to_classification().label == products[0].category_path
    records = load_sample_attributes("train")
    assert records and all(r.split == "train" for r in records)
    values = records[0].values()
    assert set(values) == {a.key for a in records[0].attributes}
    questions = load_sample_qa("validation")
    assert questions and all(q.split == "validation" and q.answer for q in questions)
    with pytest.raises(ValueError, match="Unknown split 'dev'"):
        load_sample_products("dev")
    with pytest.raises(ValueError, match="Unknown sample file"):
        sample_path("reviews")


def test_data_card_is_honest():
    card = (sample_dir() / "DATA_CARD.md").read_text(encoding="utf-8")
    assert "**This data is synthetic.**" in card and "generate.py" in card
    for heading in ("## Splits", "## Intended use", "## Limitations"):
        assert heading in card
    assert f"| `products.jsonl` | {len(_rows('products'))} |" in card
