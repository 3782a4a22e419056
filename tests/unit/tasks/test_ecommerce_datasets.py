"""Loaders for the real e-commerce datasets (MAVE, AmazonQA, ESCI, ECInstruct) and TuneLab's
product files, on small files written here in each dataset's own schema; and the errors for bad
input, which name file, line (or record) and field."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tunelab.data import ChatRecord, DatasetError, SkipReport
from tunelab.tasks.ecommerce.datasets import (
    ESCI_GAINS,
    load_amazonqa,
    load_ecinstruct,
    load_esci,
    load_esci_products,
    load_mave,
    load_products,
)


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# --- TuneLab products -----------------------------------------------------------------------------

DOG_BEDS = "Animals & Pet Supplies > Pet Supplies > Dog Supplies > Dog Beds"


def _product(**changes) -> dict:
    row = {
        "id": "p1", "title": "Cozy Dog Bed, Large", "description": "A bed.", "bullet_points": ["Washable cover"],
        "brand": "Pawford", "price": 39.99, "category_id": 4434, "category_path": DOG_BEDS, "split": "train",
    }
    row.update(changes)
    return {k: v for k, v in row.items() if v is not ...}


def test_products_load_and_label(tmp_path):
    path = _jsonl(tmp_path / "p.jsonl", [_product(), _product(id=2, category_id=..., price="12.50", split=...)])
    first, second = load_products(path)
    assert (first.id, first.category_id, first.category_path, first.price) == ("p1", 4434, DOG_BEDS, 39.99)
    assert (second.id, second.category_id, second.price, second.split) == ("2", 4434, 12.5, None)  # path -> id
    record = first.to_classification()
    assert record.label == DOG_BEDS and record.text.startswith("Cozy Dog Bed, Large\nBrand: Pawford\n- Washable cover")
    assert first.to_classification(label="id").label == 4434


def test_products_csv(tmp_path):
    path = tmp_path / "p.csv"
    pd.DataFrame([_product(bullet_points=json.dumps(["a", "b"]))]).to_csv(path, index=False)
    (product,) = load_products(path)
    assert product.bullet_points == ["a", "b"] and product.category_id == 4434


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"category_id": 999999}, "line 2: field 'category_id': unknown category id 999999: not in the Google Product Taxonomy (version 2021-09-21)"),
        ({"category_id": ..., "category_path": "Animals > Dogs"}, "line 2: field 'category_path': unknown category path 'Animals > Dogs'"),
        ({"category_id": 3}, "line 2: field 'category_path': 'Animals & Pet Supplies > Pet Supplies > Dog Supplies > Dog Beds' does not match category 3"),
        ({"category_id": ..., "category_path": ...}, "line 2: field 'category_id': missing: a labelled product needs"),
        ({"title": "  "}, "line 2: field 'title': empty"),
        ({"title": ...}, "line 2: field 'title': missing"),
        ({"bullet_points": ["ok", 3]}, "line 2: field 'bullet_points[1]': expected a string, got a number"),
        ({"price": -1}, "line 2: field 'price': expected a non-negative number"),
    ],
)
def test_products_bad_rows(tmp_path, changes, message):
    path = _jsonl(tmp_path / "products.jsonl", [_product(), _product(id="p2", **changes)])
    with pytest.raises(DatasetError) as err:
        load_products(path)
    assert str(err.value).startswith(f"{path} ") and message in str(err.value)
    assert err.value.line == 2 and err.value.file == str(path)


def test_products_unlabelled_allowed_on_request(tmp_path):
    path = _jsonl(tmp_path / "p.jsonl", [_product(category_id=..., category_path=...)])
    (product,) = load_products(path, require_label=False)
    assert product.category_id is None
    with pytest.raises(ValueError, match="no category label"):
        product.to_classification()


def test_skip_invalid_counts_bad_rows(tmp_path):
    path = _jsonl(tmp_path / "p.jsonl", [_product(), _product(id="p2", title=""), _product(id="p3", category_id=7)])
    report = SkipReport()
    products = load_products(path, skip_invalid=True, report=report)
    assert [p.id for p in products] == ["p1"]
    assert (report.total, report.skipped) == (3, 2) and "line 2: field 'title': empty" in report.reasons[0]
    bad = _jsonl(tmp_path / "bad.jsonl", [_product(title="")])
    with pytest.raises(DatasetError, match="all 1 records are invalid; the first: .*field 'title': empty"):
        load_products(bad, skip_invalid=True)
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="empty.jsonl: no records"):
        load_products(tmp_path / "empty.jsonl")


# --- MAVE -----------------------------------------------------------------------------------------

TITLE = "Fretcraft PB30 Phosphor Bronze Acoustic Guitar Strings, Custom Light, 11-52"
DESCRIPTION = ".011-.052 Custom Light Gauge Acoustic Guitar Strings, Phosphor Bronze"


def _mave(**changes) -> dict:
    def span(text: str, value: str, pid: int) -> dict:
        begin = text.index(value)
        return {"value": value, "pid": pid, "begin": begin, "end": begin + len(value)}

    row = {
        "id": "B000TEST01",
        "category": "Guitar Strings",
        "paragraphs": [{"text": TITLE, "source": "title"}, {"text": DESCRIPTION, "source": "description"}],
        "attributes": [
            {"key": "Winding Material", "evidences": [span(TITLE, "Phosphor Bronze", 0)]},
            {"key": "Gauge", "evidences": [span(TITLE, "Light", 0), span(DESCRIPTION, "Light Gauge", 1)]},
            {"key": "Core Material", "evidences": []},
        ],
    }
    row.update(changes)
    return row


def test_mave_loads(tmp_path):
    (record,) = load_mave(_jsonl(tmp_path / "mave.jsonl", [_mave()]))
    assert record.id == "B000TEST01" and record.category == "Guitar Strings" and record.split is None
    assert [p.source for p in record.paragraphs] == ["title", "description"]
    assert record.values() == {"Winding Material": "Phosphor Bronze", "Gauge": "Light", "Core Material": None}
    gauge = record.attributes[1]
    assert gauge.values == ["Light", "Light Gauge"]
    for e in gauge.evidences:
        assert record.paragraphs[e.pid].text[e.begin : e.end] == e.value
    assert record.text().startswith(TITLE + "\n")


def _bad_evidence(**evidence) -> dict:
    row = _mave()
    row["attributes"][0]["evidences"][0].update(evidence)
    return row


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (_bad_evidence(end=len(TITLE) + 5), "attributes[0].evidences[0].end", f"is outside paragraph 0 after begin 15 (its text has {len(TITLE)} characters)"),
        (_bad_evidence(begin=-1), "attributes[0].evidences[0].begin", "-1 is outside paragraph 0"),
        (_bad_evidence(begin=20, end=10), "attributes[0].evidences[0].end", "10 is outside paragraph 0 after begin 20"),
        (_bad_evidence(pid=2), "attributes[0].evidences[0].pid", "paragraph 2 does not exist (the record has 2 paragraphs)"),
        (_bad_evidence(begin=16), "attributes[0].evidences[0].value", "'Phosphor Bronze' is not the text at paragraph 0 [16:30], which reads 'hosphor Bronze'"),
        (_bad_evidence(begin="x"), "attributes[0].evidences[0].begin", "expected an integer, got a string"),
        (_mave(paragraphs=None), "paragraphs", "missing"),
        (_mave(category=""), "category", "empty"),
        ({k: v for k, v in _mave().items() if k != "attributes"}, "attributes", "missing"),
    ],
)
def test_mave_bad_rows(tmp_path, row, field, reason):
    path = _jsonl(tmp_path / "mave.jsonl", [_mave(), _mave(), row])
    with pytest.raises(DatasetError) as err:
        load_mave(path)
    assert (err.value.file, err.value.line, err.value.field) == (str(path), 3, field)
    assert reason in err.value.reason
    assert str(err.value).startswith(f"{path} line 3: field '{field}': ")


def test_mave_bad_json_line(tmp_path):
    path = tmp_path / "mave.jsonl"
    path.write_text(json.dumps(_mave()) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"mave.jsonl line 2: invalid JSON"):
        load_mave(path)


# --- AmazonQA -------------------------------------------------------------------------------------


def _amazonqa(**changes) -> dict:
    row = {
        "qid": 17, "asin": "B00TESTQA1", "category": "Electronics",
        "questionText": "Does this charger work with a tablet?", "questionType": "yesno",
        "review_snippets": ["Charges my tablet overnight with no problem.", "Cable is short."],
        "answers": [
            {"answerText": "Yes, it does.", "answerType": "Y", "helpful": [1, 3]},
            {"answerText": "Works with mine.", "answerType": "Y", "helpful": [4, 4]},
        ],
        "is_answerable": 1,
        "top_review_wilson": "Great charger.", "top_sentences_IR": ["Charges my tablet overnight."],
    }
    row.update(changes)
    return row


def test_amazonqa_loads(tmp_path):
    rows = [_amazonqa(), _amazonqa(qid=18, questionType="descriptive", questionText="How long is the cable?", is_answerable=False, answers=[{"answerText": "3 ft"}])]
    first, second = load_amazonqa(_jsonl(tmp_path / "val-qar.jsonl", rows))
    assert (first.qid, first.asin, first.question_type, first.is_answerable) == (17, "B00TESTQA1", "yesno", True)
    assert first.answers[0].helpful == (1, 3) and first.answer == "Works with mine."  # most helpful
    assert (second.is_answerable, second.answers[0].answer_type, second.answers[0].helpful) == (False, None, None)


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"questionType": "open"}, "questionType", "expected 'yesno' or 'descriptive', got 'open'"),
        ({"questionText": None}, "questionText", "missing"),
        ({"review_snippets": "one snippet"}, "review_snippets", "expected a list, got a string"),
        ({"answers": [{"answerType": "Y"}]}, "answers[0].answerText", "missing"),
        ({"answers": [{"answerText": "Yes", "helpful": [1]}]}, "answers[0].helpful", "expected [helpful, total], got 1 numbers"),
        ({"is_answerable": "maybe"}, "is_answerable", "expected true/false or 0/1"),
        ({"asin": ""}, "asin", "empty"),
    ],
)
def test_amazonqa_bad_rows(tmp_path, changes, field, reason):
    path = _jsonl(tmp_path / "qa.jsonl", [_amazonqa(), _amazonqa(**changes)])
    with pytest.raises(DatasetError) as err:
        load_amazonqa(path)
    assert (err.value.line, err.value.field) == (2, field) and reason in err.value.reason


# --- ESCI -----------------------------------------------------------------------------------------


def _esci_files(tmp_path: Path, suffix: str = "parquet", products: list[dict] | None = None) -> tuple[Path, Path]:
    examples = pd.DataFrame(
        [
            # example_id, query, query_id, product_id, product_locale, esci_label, small_version, large_version, split
            (0, "wireless mouse", 1, "B0MOUSE001", "us", "E", 1, 1, "train"),
            (1, "wireless mouse", 1, "B0MOUSEPAD", "us", "C", 1, 1, "train"),
            (2, "wireless mouse", 1, "B0KEYBOARD", "us", "I", 0, 1, "train"),
            (3, "raton inalambrico", 2, "B0MOUSE001", "es", "S", 1, 1, "test"),
            (4, "usb c cable", 3, "B0CABLE001", "us", "E", 1, 1, "test"),
        ],
        columns=["example_id", "query", "query_id", "product_id", "product_locale", "esci_label", "small_version", "large_version", "split"],
    )
    catalogue = pd.DataFrame(
        products
        or [
            {"product_id": "B0MOUSE001", "product_title": "Quiet Wireless Mouse", "product_description": "<p>Silent clicks</p>",
             "product_bullet_point": "2.4 GHz receiver\nUp to 18 months battery\n", "product_brand": "Glyphtek", "product_color": "Black",
             "product_locale": "us"},
            {"product_id": "B0MOUSE001", "product_title": "Ratón inalámbrico silencioso", "product_description": None,
             "product_bullet_point": None, "product_brand": "Glyphtek", "product_color": None, "product_locale": "es"},
            {"product_id": "B0MOUSEPAD", "product_title": "Large Mouse Pad", "product_description": None,
             "product_bullet_point": "Stitched edges", "product_brand": None, "product_color": "Grey", "product_locale": "us"},
            {"product_id": "B0KEYBOARD", "product_title": "Mechanical Keyboard", "product_description": None,
             "product_bullet_point": None, "product_brand": "Zentrix", "product_color": None, "product_locale": "us"},
        ]
    )
    ex, pr = tmp_path / f"shopping_queries_dataset_examples.{suffix}", tmp_path / f"shopping_queries_dataset_products.{suffix}"
    if suffix == "parquet":
        examples.to_parquet(ex, index=False)
        catalogue.to_parquet(pr, index=False)
    else:
        examples.to_csv(ex, index=False)
        catalogue.to_csv(pr, index=False)
    return ex, pr


def test_esci_parquet_join_and_filters(tmp_path):
    ex, pr = _esci_files(tmp_path)
    pairs = load_esci(ex, pr)
    assert [(p.example_id, p.label) for p in pairs] == [(0, "E"), (1, "C"), (2, "I"), (3, "S"), (4, "E")]
    first = pairs[0]
    assert (first.query, first.query_id, first.locale, first.split, first.small_version) == ("wireless mouse", 1, "us", "train", True)
    assert first.product.title == "Quiet Wireless Mouse" and first.product.bullet_points == ["2.4 GHz receiver", "Up to 18 months battery"]
    assert first.product.brand == "Glyphtek" and first.product.color == "Black" and first.gain == ESCI_GAINS["E"] == 1.0
    assert pairs[3].product.title == "Ratón inalámbrico silencioso"  # joined on locale as well as id
    assert pairs[4].product is None  # not in the products file
    assert pairs[2].gain == 0.0 and pairs[1].gain == 0.01

    small_train_us = load_esci(ex, pr, locale="us", version="small", split="train")
    assert [p.example_id for p in small_train_us] == [0, 1]
    assert [p.example_id for p in load_esci(ex, version="large", split="test")] == [3, 4]
    assert all(p.product is None for p in load_esci(ex))
    with pytest.raises(ValueError, match="Unknown ESCI version 'medium'"):
        load_esci(ex, version="medium")


def test_esci_parquet_batches_keep_row_numbers(tmp_path, monkeypatch):
    from tunelab.tasks.ecommerce.datasets import loaders

    monkeypatch.setattr(loaders, "PARQUET_BATCH_ROWS", 2)
    ex, pr = _esci_files(tmp_path)
    assert [p.example_id for p in load_esci(ex, pr, locale="us")] == [0, 1, 2, 4]
    rows = pd.read_parquet(ex)
    rows.loc[4, "esci_label"] = "?"
    rows.to_parquet(ex, index=False)
    with pytest.raises(DatasetError, match=r"examples.parquet record 4: field 'esci_label'"):
        load_esci(ex, locale="us")


def test_esci_csv(tmp_path):
    ex, pr = _esci_files(tmp_path, suffix="csv")
    pairs = load_esci(ex, pr, locale="us", version="small")
    assert pairs[0].query_id == 1 and pairs[0].small_version is True  # CSV text read as Parquet's types
    assert [(p.example_id, p.label, p.product and p.product.title) for p in pairs] == [
        (0, "E", "Quiet Wireless Mouse"), (1, "C", "Large Mouse Pad"), (4, "E", None),
    ]
    products = load_esci_products(pr, locale="es")
    assert [(p.id, p.locale) for p in products] == [("B0MOUSE001", "es")]


def test_esci_bad_rows(tmp_path):
    ex, pr = _esci_files(
        tmp_path,
        products=[
            {"product_id": "B0MOUSE001", "product_title": "Quiet Wireless Mouse", "product_locale": "us"},
            {"product_id": "B0MOUSEPAD", "product_title": " ", "product_locale": "us"},
        ],
    )
    with pytest.raises(DatasetError) as err:
        load_esci(ex, pr, locale="us")
    assert str(err.value) == f"{pr} record 1: field 'product_title': empty"
    report = SkipReport()
    pairs = load_esci(ex, pr, locale="us", skip_invalid=True, report=report)
    assert [p.product and p.product.id for p in pairs] == ["B0MOUSE001", None, None, None] and report.skipped == 1

    bad = pd.DataFrame([{"query": "q", "query_id": 1, "product_id": "B1", "product_locale": "us", "esci_label": "X"}])
    bad.to_parquet(tmp_path / "bad.parquet", index=False)
    with pytest.raises(DatasetError, match=r"bad.parquet record 0: field 'esci_label': expected one of E, S, C, I, got 'X'"):
        load_esci(tmp_path / "bad.parquet")
    bad.drop(columns=["esci_label"]).to_parquet(tmp_path / "nolabel.parquet", index=False)
    with pytest.raises(DatasetError, match=r"nolabel.parquet: field 'esci_label': missing column \(the file has query, "):
        load_esci(tmp_path / "nolabel.parquet")
    other = pd.DataFrame([{"product_id": "ZZZ", "product_title": "Something else", "product_locale": "us"}])
    other.to_parquet(tmp_path / "other.parquet", index=False)
    with pytest.raises(DatasetError, match="other.parquet: none of the 4 products the examples name is in this file"):
        load_esci(ex, tmp_path / "other.parquet", locale="us")


# --- ECInstruct -----------------------------------------------------------------------------------


def _ecinstruct(**changes) -> dict:
    row = {
        "task": "Answerability_Prediction",
        "setting": "IND_Diverse_Instruction",
        "instruction": "Decide whether the question can be answered from the review.",
        "input": '{"question": "Is it loud?", "document": "Very quiet fan."}',
        "options": ["A: yes", "B: no"],
        "output": "A: yes",
        "split": "train",
    }
    row.update(changes)
    return row


def test_ecinstruct_json_list_and_chat(tmp_path):
    rows = [
        _ecinstruct(),
        _ecinstruct(task="Answer_Generation", options="", output="It is very quiet.", split="val"),
        _ecinstruct(options="['A: yes', 'B: no']", setting="OOD_Diverse_Instruction", split="test"),
        _ecinstruct(task="Sentiment_Analysis", options='["A: positive", "B: negative"]', output="A: positive", few_shot_example=None),
    ]
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    records = load_ecinstruct(path)
    assert [r.options for r in records] == [["A: yes", "B: no"], [], ["A: yes", "B: no"], ["A: positive", "B: negative"]]
    chat = records[0].to_chat(system="You are a shopping assistant.")
    assert isinstance(chat, ChatRecord) and [m.role for m in chat.messages] == ["system", "user", "assistant"]
    assert chat.messages[1].content == (
        'Decide whether the question can be answered from the review.\n\n{"question": "Is it loud?", "document": "Very quiet fan."}'
        "\n\nOptions:\nA: yes\nB: no"
    )
    assert chat.messages[2].content == "A: yes"
    assert records[1].to_chat().messages[0].content.endswith("Very quiet fan.\"}")  # no options block
    assert [r.task for r in load_ecinstruct(path, setting="IND_Diverse_Instruction", split="train")] == [
        "Answerability_Prediction", "Sentiment_Analysis",
    ]
    assert len(load_ecinstruct(path, task="Answer_Generation")) == 1


def test_ecinstruct_bad_rows(tmp_path):
    path = _jsonl(tmp_path / "train.jsonl", [_ecinstruct(), _ecinstruct(output=None)])
    with pytest.raises(DatasetError, match=r"train.jsonl line 2: field 'output': missing"):
        load_ecinstruct(path)
    path = _jsonl(tmp_path / "t2.jsonl", [_ecinstruct(options=[{"x": 1}])])
    with pytest.raises(DatasetError, match=r"t2.jsonl line 1: field 'options\[0\]': expected text, got an object"):
        load_ecinstruct(path)
    # filtered-out rows are not checked
    path = _jsonl(tmp_path / "t3.jsonl", [_ecinstruct(), _ecinstruct(split="test", instruction=None)])
    assert len(load_ecinstruct(path, split="train")) == 1
    with pytest.raises(DatasetError, match=r"t3.jsonl line 2: field 'instruction': missing"):
        load_ecinstruct(path)
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps([_ecinstruct(), _ecinstruct(task="")]), encoding="utf-8")
    with pytest.raises(DatasetError, match=r"dataset.json record 1: field 'task': empty"):
        load_ecinstruct(path)
