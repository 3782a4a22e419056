"""Format parsing and detection: each format's record type, and the field/reason of each refusal."""

from __future__ import annotations

import pytest

from tunelab.data import (
    ChatRecord,
    ClassificationRecord,
    FieldError,
    Message,
    PreferenceRecord,
    TextRecord,
    detect_format,
    get_parser,
)


def msg(role: str, content: str, tool_call: bool = False) -> Message:
    return Message(role=role, content=content, tool_call=tool_call)


def parse(fmt: str, row: dict):
    return get_parser(fmt)(row)


def refusal(fmt: str, row: dict) -> str:
    with pytest.raises(FieldError) as info:
        parse(fmt, row)
    return str(info.value)


@pytest.mark.parametrize(
    "row, expected",
    [
        ({"instruction": "a", "output": "b"}, "alpaca"),
        ({"output": "b"}, "alpaca"),
        ({"messages": []}, "messages"),
        ({"conversations": []}, "sharegpt"),
        ({"prompt": "p", "chosen": "c", "rejected": "r"}, "preference"),
        ({"instruction": "p", "chosen": "c", "rejected": "r"}, "preference"),
        ({"conversations": [], "chosen": {}, "rejected": {}}, "preference"),
        ({"text": "t", "label": "x"}, "classification"),
        ({"text": "t"}, "text"),
    ],
)
def test_detect_format_from_keys(row, expected):
    assert detect_format(row) == expected


def test_detect_format_unknown_keys_names_them():
    with pytest.raises(FieldError, match=r"cannot tell the dataset format from the keys 'question', 'answer'"):
        detect_format({"question": "q", "answer": "a"})


def test_unknown_format_name_lists_known():
    with pytest.raises(ValueError, match="Unknown dataset format 'csv'. Known formats: alpaca, messages, sharegpt"):
        get_parser("csv")


def test_alpaca_to_chat_with_system_history_and_input():
    row = {"instruction": "Translate", "input": "chat", "output": "cat", "system": "Be brief.",
           "history": [["hi", "hello"], ["how?", "well"]]}
    assert parse("alpaca", row) == ChatRecord(messages=[
        msg("system", "Be brief."), msg("user", "hi"), msg("assistant", "hello"), msg("user", "how?"),
        msg("assistant", "well"), msg("user", "Translate\nchat"), msg("assistant", "cat"),
    ])


def test_alpaca_empty_input_and_system_are_dropped():
    record = parse("alpaca", {"instruction": "Q", "input": "", "output": "A", "system": " "})
    assert record.messages == [msg("user", "Q"), msg("assistant", "A")]
    assert record.system is None


@pytest.mark.parametrize(
    "row, reason",
    [
        ({"instruction": "Q"}, "field 'output': missing"),
        ({"instruction": "Q", "output": None}, "field 'output': missing"),
        ({"instruction": "Q", "output": "  "}, "field 'output': empty"),
        ({"instruction": "Q", "output": 3}, "field 'output': expected a string, got a number"),
        ({"output": "A"}, "field 'instruction': missing"),
        ({"instruction": "", "input": "", "output": "A"}, "field 'instruction': empty"),
        ({"instruction": "Q", "output": "A", "history": [["only one"]]}, "field 'history[0]': expected a [user, assistant] pair, got 1 items"),
        ({"instruction": "Q", "output": "A", "history": "nope"}, "field 'history': expected a list, got a string"),
    ],
)
def test_alpaca_refusals(row, reason):
    assert refusal("alpaca", row) == reason


def test_openai_messages_with_tools_and_content_parts():
    row = {
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": [{"type": "text", "text": "weather "}, {"type": "text", "text": "in Oslo?"}]},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
            {"role": "tool", "content": "rain"},
            {"role": "tool", "content": "5C"},
            {"role": "assistant", "content": "Rainy, 5C."},
        ],
        "tools": [{"type": "function", "function": {"name": "w"}}],
    }
    record = parse("messages", row)
    assert record.messages == [
        msg("system", "sys"), msg("user", "weather in Oslo?"),
        msg("assistant", '[{"name": "w", "arguments": "{}"}]', tool_call=True),
        msg("tool", "rain"), msg("tool", "5C"), msg("assistant", "Rainy, 5C."),
    ]
    assert record.tools == '[{"type": "function", "function": {"name": "w"}}]'


def test_sharegpt_roles_map_like_llamafactory():
    row = {"system": "col sys", "conversations": [
        {"from": "human", "value": "q"}, {"from": "function_call", "value": '{"name": "f"}'},
        {"from": "observation", "value": "out"}, {"from": "gpt", "value": "a"}]}
    assert parse("sharegpt", row).messages == [
        msg("system", "col sys"), msg("user", "q"), msg("assistant", '{"name": "f"}', tool_call=True),
        msg("tool", "out"), msg("assistant", "a"),
    ]


def test_sharegpt_system_message_overrides_system_column():
    row = {"system": "col", "conversations": [{"from": "system", "value": "msg"}, {"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}
    assert parse("sharegpt", row).system == "msg"


@pytest.mark.parametrize(
    "fmt, row, reason",
    [
        ("sharegpt", {"conversations": [{"from": "human", "value": "q"}, {"from": "bot", "value": "a"}]},
         "field 'conversations[1].from': unknown role 'bot' (expected one of 'human', 'gpt', 'observation', 'function_call', 'system')"),
        ("sharegpt", {"conversations": [{"from": "human", "value": "q"}, {"from": "human", "value": "a"}]},
         "field 'conversations[1].from': expected 'gpt' or 'function_call' here (turns alternate user and assistant), got 'human'"),
        ("sharegpt", {"conversations": [{"from": "human", "value": "q"}]},
         "field 'conversations': must end with a 'gpt' or 'function_call' message, but the last one is 'human'"),
        ("sharegpt", {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt"}]},
         "field 'conversations[1].value': missing"),
        ("messages", {"messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "s"}]},
         "field 'messages[1].role': a system message is only allowed first"),
        ("messages", {"messages": [{"content": "q"}]}, "field 'messages[0].role': missing"),
        ("messages", {"messages": []}, "field 'messages': no user or assistant messages"),
        ("messages", {"messages": ["hi"]}, "field 'messages[0]': expected an object, got a string"),
        ("messages", {"messages": [{"role": "assistant", "content": "a"}]},
         "field 'messages[0].role': expected 'user' or 'tool' here (turns alternate user and assistant), got 'assistant'"),
        ("messages", {"messages": [{"role": "user", "content": [{"type": "image_url"}]}, {"role": "assistant", "content": "a"}]},
         "field 'messages[0].content': only text content parts are supported"),
    ],
)
def test_chat_refusals_name_the_field(fmt, row, reason):
    assert refusal(fmt, row) == reason


def test_preference_plain_text():
    record = parse("preference", {"prompt": "2+2?", "chosen": "4", "rejected": "5", "system": "math"})
    assert record == PreferenceRecord(prompt=[msg("system", "math"), msg("user", "2+2?")], chosen=[msg("assistant", "4")], rejected=[msg("assistant", "5")])


def test_preference_answer_that_looks_like_json_stays_text():
    record = parse("preference", {"prompt": "list?", "chosen": "[1, 2]", "rejected": "{no}"})
    assert record.chosen == [msg("assistant", "[1, 2]")] and record.rejected == [msg("assistant", "{no}")]


def test_preference_message_lists_and_implicit_prompt_agree():
    explicit = parse("preference", {
        "prompt": [{"role": "user", "content": "q"}],
        "chosen": [{"role": "assistant", "content": "good"}],
        "rejected": [{"role": "assistant", "content": "bad"}],
    })
    implicit = parse("preference", {
        "chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "good"}],
        "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "bad"}],
    })
    assert explicit == implicit == PreferenceRecord(prompt=[msg("user", "q")], chosen=[msg("assistant", "good")], rejected=[msg("assistant", "bad")])


def test_preference_llamafactory_shapes():
    alpaca = parse("preference", {"instruction": "q", "input": "ctx", "chosen": "good", "rejected": "bad"})
    assert alpaca.prompt == [msg("user", "q\nctx")]
    sharegpt = parse("preference", {
        "conversations": [{"from": "human", "value": "q1"}, {"from": "gpt", "value": "a1"}, {"from": "human", "value": "q2"}],
        "chosen": {"from": "gpt", "value": "good"}, "rejected": {"from": "gpt", "value": "bad"}})
    assert sharegpt.prompt == [msg("user", "q1"), msg("assistant", "a1"), msg("user", "q2")]
    assert sharegpt.chosen == [msg("assistant", "good")] and sharegpt.rejected == [msg("assistant", "bad")]


@pytest.mark.parametrize(
    "row, reason",
    [
        ({"prompt": "q", "chosen": "a", "rejected": None}, "field 'rejected': missing"),
        ({"prompt": "q", "chosen": "", "rejected": "b"}, "field 'chosen': empty"),
        ({"conversations": [{"from": "human", "value": "q"}], "chosen": {"from": "human", "value": "x"}, "rejected": {"from": "gpt", "value": "b"}},
         "field 'chosen.from': expected 'gpt' or 'function_call', got a user message"),
        ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "chosen": {"from": "gpt", "value": "x"}, "rejected": {"from": "gpt", "value": "b"}},
         "field 'conversations': must end with a 'human' or 'observation' message (the chosen and rejected answers follow it), but the last one is 'gpt'"),
        ({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
         "field 'rejected': chosen and rejected are the same conversation"),
    ],
)
def test_preference_refusals(row, reason):
    assert refusal("preference", row) == reason


def test_classification_and_text():
    assert parse("classification", {"text": "red shoe", "label": "Apparel"}) == ClassificationRecord(text="red shoe", label="Apparel")
    assert parse("classification", {"text": "red shoe", "label": 3.0}).label == 3
    assert refusal("classification", {"text": "x", "label": True}) == "field 'label': expected a string or an integer, got a boolean"
    assert refusal("classification", {"text": "x"}) == "field 'label': missing"
    assert parse("text", {"text": "a document"}) == TextRecord(text="a document")
    assert refusal("text", {"text": ""}) == "field 'text': empty"


def test_json_answers_in_preference_pairs_stay_text():
    from tunelab.data import get_parser

    rec = get_parser("preference")({"prompt": "Extract the brand.", "chosen": '{"brand": "Nike"}',
                                    "rejected": '{"brand": null}'})
    assert rec.chosen[0].content == '{"brand": "Nike"}' and rec.chosen[0].role == "assistant"


def test_alpaca_with_only_an_input_loads_as_the_qlora_pipeline_writes_it(tmp_path):
    """{"input", "output"} records (no instruction) are prompts; with neither, the error names instruction."""
    from tunelab.data import load_dataset

    path = tmp_path / "physics.jsonl"
    path.write_text('{"input": "What is inertia?", "output": "Resistance to change in motion."}\n'
                    '{"instruction": "Define", "input": "mass", "output": "Amount of matter."}\n')
    loaded = load_dataset(path)
    assert loaded.format == "alpaca"
    assert [m.content for m in loaded.records[0].messages] == ["What is inertia?", "Resistance to change in motion."]
    assert loaded.records[1].messages[0].content == "Define\nmass"
    path.write_text('{"output": "orphan"}\n')
    import pytest

    from tunelab.data import DatasetError

    with pytest.raises(DatasetError, match="line 1.*instruction"):
        load_dataset(path)


def test_a_top_level_data_wrapper_loads_with_record_indices(tmp_path):
    import pytest

    from tunelab.data import DatasetError, load_dataset

    path = tmp_path / "gen.json"
    path.write_text('{"data": [{"input": "a?", "output": "b"},\n {"input": "c?", "output": "d"}]}')
    assert [r.messages[1].content for r in load_dataset(path).records] == ["b", "d"]
    path.write_text('{"data": [{"input": "a?", "output": "b"}, {"input": "c?"}]}')
    with pytest.raises(DatasetError, match="record 1.*output"):
        load_dataset(path)
    path.write_text('{"rows": [1],\n "x": 2}')
    with pytest.raises(DatasetError, match=r'\{"data": \['):
        load_dataset(path)
