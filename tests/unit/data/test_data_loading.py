"""Reading JSON/JSONL/CSV/TSV/Parquet files: locations in errors, skip reports, round trips."""

from __future__ import annotations

import json

import pytest

from tunelab.data import (
    ChatRecord,
    ClassificationRecord,
    DatasetError,
    Message,
    PreferenceRecord,
    TextRecord,
    load_dataset,
    read_rows,
    record_from_dict,
    write_jsonl,
)
from tunelab.data.records import canonical_dict

GOOD = {"instruction": "Q", "output": "A"}


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_error_names_file_line_and_field(tmp_path):
    path = write_lines(tmp_path / "data.jsonl", [json.dumps(GOOD)] * 4 + [""] + [json.dumps(GOOD), json.dumps({"instruction": "Q"})])
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    err = info.value
    assert str(err) == f"{path} line 7: field 'output': missing"
    assert (err.file, err.line, err.record, err.field, err.reason) == (str(path), 7, None, "output", "missing")
    assert isinstance(err, ValueError)


def test_jsonl_bad_json_line(tmp_path):
    path = write_lines(tmp_path / "d.jsonl", [json.dumps(GOOD), '{"instruction": "Q", "output": }'])
    with pytest.raises(DatasetError, match=r"d\.jsonl line 2: invalid JSON: Expecting value \(column 32\)$"):
        load_dataset(path)


def test_json_list_reports_record_index(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps([GOOD, GOOD, {"instruction": "Q", "output": ["A"]}]))
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    assert str(info.value) == f"{path} record 2: field 'output': expected a string, got a list"
    assert info.value.record == 2 and info.value.line is None


def test_json_syntax_error_reports_line(tmp_path):
    path = tmp_path / "data.json"
    path.write_text('[\n  {"text": "a"},\n  {"text": "b",}\n]')
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    assert info.value.line == 3 and "invalid JSON" in info.value.reason


def test_json_file_holding_json_lines_is_read_as_jsonl(tmp_path):
    path = write_lines(tmp_path / "data.json", [json.dumps({"text": "a"}), json.dumps({"text": ""})])
    with pytest.raises(DatasetError, match=r"data\.json line 2: field 'text': empty"):
        load_dataset(path)


def test_skip_invalid_reports_counts_and_first_reasons(tmp_path):
    lines = [json.dumps(GOOD), "oops", json.dumps({"instruction": "Q"}), json.dumps([1])]
    lines += [json.dumps({"instruction": f"Q{i}", "output": ""}) for i in range(6)] + [json.dumps(GOOD)]
    path = write_lines(tmp_path / "d.jsonl", lines)
    loaded = load_dataset(path, skip_invalid=True, max_reasons=3)
    assert (len(loaded), loaded.format, loaded.report.total, loaded.report.skipped, loaded.report.kept) == (2, "alpaca", 11, 9, 2)
    assert loaded.report.reasons == [
        f"{path} line 2: invalid JSON: Expecting value (column 1)",
        f"{path} line 3: field 'output': missing",
        f"{path} line 4: expected a JSON object, got a list",
    ]


def test_all_invalid_is_an_error_even_when_skipping(tmp_path):
    path = write_lines(tmp_path / "d.jsonl", [json.dumps({"instruction": "Q"})] * 3)
    with pytest.raises(DatasetError, match=r"all 3 records are invalid; the first: .*line 1: field 'output': missing"):
        load_dataset(path, skip_invalid=True)


def test_empty_file_and_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "e.jsonl").write_text("\n\n")
    with pytest.raises(DatasetError, match=r"e\.jsonl: no records$"):
        load_dataset(tmp_path / "e.jsonl")
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(DatasetError, match=r"unsupported file type '\.txt': use one of \.json, \.jsonl"):
        load_dataset(tmp_path / "d.txt")
    with pytest.raises(DatasetError, match=r"nope\.jsonl: no such file"):
        load_dataset(tmp_path / "nope.jsonl")


def test_detection_failure_is_not_skippable(tmp_path):
    path = write_lines(tmp_path / "d.jsonl", ["bad", json.dumps({"q": 1, "a": 2})])
    with pytest.raises(DatasetError, match=r"d\.jsonl line 2: cannot tell the dataset format from the keys 'q', 'a'"):
        load_dataset(path, skip_invalid=True)


def test_explicit_format_overrides_detection(tmp_path):
    path = write_lines(tmp_path / "d.jsonl", [json.dumps({"text": "doc", "label": "x"})])
    assert load_dataset(path).records == [ClassificationRecord(text="doc", label="x")]
    loaded = load_dataset(path, format="text")
    assert (loaded.format, loaded.records) == ("text", [TextRecord(text="doc")])


def test_csv_line_numbers_count_the_header_and_multiline_cells(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('instruction,input,output\nQ1,,A1\n"Q2\nsecond line",x,A2\n\nQ3,,\n', encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    assert str(info.value) == f"{path} line 6: field 'output': empty"
    loaded = load_dataset(path, skip_invalid=True)
    assert [r.messages[0].content for r in loaded.records] == ["Q1", "Q2\nsecond line\nx"]


def test_csv_row_with_too_many_cells(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\na,b\nc,d,e\n")
    with pytest.raises(DatasetError, match=r"d\.csv line 3: has 3 cells but the header has 2$"):
        load_dataset(path)


def test_csv_cells_may_hold_json_messages_and_tsv_works(tmp_path):
    conv = json.dumps([{"role": "user", "content": "hi, there"}, {"role": "assistant", "content": "hello"}])
    path = tmp_path / "d.tsv"
    path.write_text(f"messages\tsystem\n{conv}\tbe kind\n", encoding="utf-8")
    (record,) = load_dataset(path).records
    assert record.messages == [Message(role="system", content="be kind"), Message(role="user", content="hi, there"), Message(role="assistant", content="hello")]


def test_parquet_reading_and_record_index(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    path = tmp_path / "d.parquet"
    pd.DataFrame({"text": ["red shoe", "blue hat", "green"], "label": ["Apparel", "Apparel", None]}).to_parquet(path)
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    assert str(info.value) == f"{path} record 2: field 'label': missing"
    loaded = load_dataset(path, skip_invalid=True)
    assert loaded.records == [ClassificationRecord(text="red shoe", label="Apparel"), ClassificationRecord(text="blue hat", label="Apparel")]


def test_parquet_nested_messages(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "m.parquet")
    assert load_dataset(tmp_path / "m.parquet").records == [ChatRecord(messages=[Message(role="user", content="q"), Message(role="assistant", content="a")])]


def test_corrupt_parquet(tmp_path):
    (tmp_path / "x.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DatasetError, match=r"x\.parquet: cannot read Parquet"):
        load_dataset(tmp_path / "x.parquet")


RECORDS = [
    ChatRecord(messages=[Message(role="system", content="s"), Message(role="user", content="q ünï"),
                         Message(role="assistant", content='{"name": "f"}', tool_call=True),
                         Message(role="tool", content="r"), Message(role="assistant", content="a")], tools='[{"name": "f"}]'),
    PreferenceRecord(prompt=[Message(role="user", content="q")], chosen=[Message(role="assistant", content="good")],
                     rejected=[Message(role="assistant", content="bad")]),
    ClassificationRecord(text="t", label=3),
    TextRecord(text="doc\u2028with a line separator"),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.kind)
def test_write_then_load_round_trips(tmp_path, record):
    path = tmp_path / "out.jsonl"
    assert write_jsonl([record, record], path) == 2
    assert load_dataset(path).records == [record, record]
    assert record_from_dict(canonical_dict(record)) == record


def test_read_rows_yields_locations(tmp_path):
    path = write_lines(tmp_path / "d.jsonl", ["", json.dumps({"text": "a"})])
    (row,) = list(read_rows(path))
    assert (row.where.line, row.data) == (2, {"text": "a"})


def test_file_of_only_unreadable_rows_reports_the_first(tmp_path):
    path = write_lines(tmp_path / "d.jsonl", ["{broken", "[1]"])
    with pytest.raises(DatasetError, match=r"d\.jsonl line 1: invalid JSON: Expecting property name"):
        load_dataset(path, skip_invalid=True)


def test_pretty_printed_single_object_is_refused_with_a_hint(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"records": [GOOD]}, indent=2))  # {"data": [...]} loads; other wrappers do not
    with pytest.raises(DatasetError, match=r"d\.json: one JSON object spanning several lines: expected a list of records"):
        load_dataset(path)
