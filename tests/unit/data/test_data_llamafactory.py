"""LLaMA-Factory data folders load unchanged: dataset_info.json columns, tags, ranking, folders."""

from __future__ import annotations

import json

import pytest

from tunelab.data import (
    ChatRecord,
    DatasetError,
    Message,
    PreferenceRecord,
    TextRecord,
    load_llamafactory,
    parse_dataset_info,
)


def m(role, content, tool_call=False):
    return Message(role=role, content=content, tool_call=tool_call)


@pytest.fixture
def folder(tmp_path):
    """A data folder in LLaMA-Factory's documented schemas, with custom column names and tags."""
    info = {
        "qa_alpaca": {
            "file_name": "qa.json",
            "columns": {"prompt": "question", "query": "context", "response": "answer", "system": "sys", "history": "past"},
        },
        "chat_sharegpt": {
            "file_name": "chat.jsonl",
            "formatting": "sharegpt",
            "columns": {"messages": "dialog", "system": "persona", "tools": "functions"},
            "tags": {"role_tag": "speaker", "content_tag": "text", "user_tag": "customer", "assistant_tag": "agent",
                     "observation_tag": "api_result", "function_tag": "api_call", "system_tag": "sys"},
        },
        "openai_style": {
            "file_name": "oa.jsonl",
            "formatting": "sharegpt",
            "columns": {"messages": "messages"},
            "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant", "system_tag": "system"},
        },
        "dpo_alpaca": {
            "file_name": "dpo.json",
            "ranking": True,
            "columns": {"prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected"},
        },
        "dpo_sharegpt": {
            "file_name": "dpo_sg.json",
            "formatting": "sharegpt",
            "ranking": True,
            "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"},
        },
        "pretrain": {"file_name": "docs", "columns": {"prompt": "text"}},
        "defaults": {"file_name": "plain.json"},
        "capped": {"file_name": "plain.json", "num_samples": 1},
        "from_hub": {"hf_hub_url": "someone/data"},
        "kto": {"file_name": "plain.json", "columns": {"prompt": "instruction", "response": "output", "kto_tag": "tag"}},
    }
    (tmp_path / "dataset_info.json").write_text(json.dumps(info, indent=2))
    (tmp_path / "qa.json").write_text(json.dumps([
        {"question": "Capital of France?", "context": "Europe", "answer": "Paris", "sys": "Be short.", "past": [["Hi", "Hello"]],
         "instruction": "ignored: not a mapped column"},
        {"question": "2+2?", "context": "", "answer": "4", "sys": "", "past": []},
    ]))
    (tmp_path / "chat.jsonl").write_text(json.dumps({
        "persona": "You sell shoes.",
        "functions": '[{"name": "stock"}]',
        "dialog": [
            {"speaker": "customer", "text": "Size 42 in red?"},
            {"speaker": "api_call", "text": '{"name": "stock", "arguments": {"size": 42}}'},
            {"speaker": "api_result", "text": "3 left"},
            {"speaker": "agent", "text": "Yes, 3 left."},
        ],
    }) + "\n" + json.dumps({"dialog": [{"speaker": "customer", "text": "hi"}, {"speaker": "bot", "text": "yo"}]}) + "\n")
    (tmp_path / "oa.jsonl").write_text(json.dumps({"messages": [
        {"role": "system", "content": "sys"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}) + "\n")
    (tmp_path / "dpo.json").write_text(json.dumps([{"instruction": "Pick", "input": "a or b", "chosen": "a", "rejected": "b"}]))
    (tmp_path / "dpo_sg.json").write_text(json.dumps([{
        "conversations": [{"from": "human", "value": "q1"}, {"from": "gpt", "value": "a1"}, {"from": "human", "value": "q2"}],
        "chosen": {"from": "gpt", "value": "good"}, "rejected": {"from": "gpt", "value": "bad"}}]))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.jsonl").write_text(json.dumps({"text": "second doc"}) + "\n")
    (tmp_path / "docs" / "a.jsonl").write_text(json.dumps({"text": "first doc"}) + "\n")
    (tmp_path / "plain.json").write_text(json.dumps([{"instruction": "i1", "input": "x", "output": "o1", "system": "not read: no system column"},
                                                      {"instruction": "i2", "output": "o2"}]))
    return tmp_path


def test_alpaca_with_custom_columns(folder):
    loaded = load_llamafactory(folder, "qa_alpaca")
    assert loaded.format == "alpaca" and loaded.source == str(folder / "qa.json")
    assert loaded.records == [
        ChatRecord(messages=[m("system", "Be short."), m("user", "Hi"), m("assistant", "Hello"),
                             m("user", "Capital of France?\nEurope"), m("assistant", "Paris")]),
        ChatRecord(messages=[m("user", "2+2?"), m("assistant", "4")]),
    ]


def test_alpaca_defaults_read_no_system_or_history_column(folder):
    assert load_llamafactory(folder, "defaults").records == [
        ChatRecord(messages=[m("user", "i1\nx"), m("assistant", "o1")]),
        ChatRecord(messages=[m("user", "i2"), m("assistant", "o2")]),
    ]
    assert len(load_llamafactory(folder, "capped")) == 1


def test_sharegpt_with_custom_tags(folder):
    with pytest.raises(DatasetError) as info:
        load_llamafactory(folder, "chat_sharegpt")
    assert str(info.value) == f"{folder / 'chat.jsonl'} line 2: field 'dialog[1].speaker': unknown role 'bot' (expected one of 'customer', 'agent', 'api_result', 'api_call', 'sys')"
    loaded = load_llamafactory(folder, "chat_sharegpt", skip_invalid=True)
    assert (loaded.format, loaded.report.skipped) == ("sharegpt", 1)
    assert loaded.records == [ChatRecord(
        messages=[m("system", "You sell shoes."), m("user", "Size 42 in red?"),
                  m("assistant", '{"name": "stock", "arguments": {"size": 42}}', tool_call=True),
                  m("tool", "3 left"), m("assistant", "Yes, 3 left.")],
        tools='[{"name": "stock"}]')]


def test_openai_style_tags(folder):
    assert load_llamafactory(folder, "openai_style").records == [ChatRecord(messages=[m("system", "sys"), m("user", "q"), m("assistant", "a")])]


def test_ranking_alpaca_and_sharegpt(folder):
    alpaca = load_llamafactory(folder, "dpo_alpaca")
    assert alpaca.format == "alpaca-ranking"
    assert alpaca.records == [PreferenceRecord(prompt=[m("user", "Pick\na or b")], chosen=[m("assistant", "a")], rejected=[m("assistant", "b")])]
    sharegpt = load_llamafactory(folder, "dpo_sharegpt")
    assert sharegpt.records == [PreferenceRecord(prompt=[m("user", "q1"), m("assistant", "a1"), m("user", "q2")],
                                                 chosen=[m("assistant", "good")], rejected=[m("assistant", "bad")])]


def test_pretrain_folder_of_files(folder):
    loaded = load_llamafactory(folder, "pretrain")
    assert loaded.format == "text"
    assert loaded.records == [TextRecord(text="first doc"), TextRecord(text="second doc")]


def test_refusals_say_why(folder):
    info = str(folder / "dataset_info.json")
    with pytest.raises(DatasetError, match=r"no dataset named 'missing'\. Datasets here: capped, chat_sharegpt, defaults"):
        load_llamafactory(folder, "missing")
    with pytest.raises(DatasetError) as hub:
        load_llamafactory(folder, "from_hub")
    assert str(hub.value) == f"{info}: dataset 'from_hub': 'hf_hub_url' datasets are downloaded; TuneLab reads local files only: download it and set 'file_name'"
    with pytest.raises(DatasetError, match=r"column 'kto_tag' is not supported"):
        load_llamafactory(folder, "kto")
    with pytest.raises(DatasetError, match=r"no such file: a LLaMA-Factory dataset folder holds a dataset_info\.json"):
        load_llamafactory(folder / "docs", "x")


def test_columns_unset_what_they_do_not_name():
    info = parse_dataset_info("d", {"file_name": "f.json", "columns": {"prompt": "q", "response": "a"}})
    assert (info.columns.prompt, info.columns.query, info.columns.response, info.columns.history) == ("q", None, "a", None)
    info = parse_dataset_info("d", {"file_name": "f.json", "formatting": "sharegpt", "tags": {"role_tag": "r", "content_tag": "c"}})
    assert (info.tags.user_tag, info.tags.system_tag, info.columns.messages) == (None, None, "conversations")
    with pytest.raises(DatasetError, match=r"'ranking' is true but 'columns' names no 'chosen' and 'rejected' columns"):
        parse_dataset_info("d", {"file_name": "f.json", "ranking": True})
    with pytest.raises(DatasetError, match=r"unknown formatting 'xml'"):
        parse_dataset_info("d", {"file_name": "f.json", "formatting": "xml"})
