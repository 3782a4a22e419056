"""OpenAI request models: what they accept, what they refuse, and the sampling settings and output
constraint a request builds."""

import pytest
from pydantic import ValidationError

from tunelab.engine.types import Constraint
from tunelab.serve.protocol import (
    AdapterRequest,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChoiceDelta,
    ChunkChoice,
    CompletionRequest,
    EmbeddingRequest,
)

MSG = [{"role": "user", "content": "hi"}]


def chat(**kw):
    return ChatCompletionRequest.model_validate({"model": "m", "messages": MSG, **kw})


def test_sampling_uses_openai_defaults_and_the_room_left():
    p = chat().to_sampling(default_max_tokens=100)
    assert (p.temperature, p.top_p, p.max_tokens, p.seed, p.stop) == (1.0, 1.0, 100, None, [])
    p = chat(temperature=0, top_p=0.5, max_tokens=7, seed=3, stop="END").to_sampling(default_max_tokens=100)
    assert (p.temperature, p.top_p, p.max_tokens, p.seed, p.stop) == (0.0, 0.5, 7, 3, ["END"])
    assert chat(max_tokens=7, max_completion_tokens=9).to_sampling(default_max_tokens=100).max_tokens == 9
    greedy = chat(top_p=0, temperature=1.2).to_sampling(default_max_tokens=5)
    assert greedy.temperature == 0 and greedy.top_p == 1.0  # top_p 0 keeps only the top token


def test_constraints_from_response_format_and_extensions():
    assert chat().to_constraint() is None
    assert chat(response_format={"type": "text"}).to_constraint() is None
    assert chat(response_format={"type": "json_object"}).to_constraint() == Constraint(kind="json_object")
    schema = {"type": "object", "properties": {"brand": {"type": "string"}}}
    c = chat(response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": schema, "strict": True}})
    assert c.to_constraint() == Constraint(kind="json_schema", schema=schema)
    assert chat(tunelab_choices=["a", "b"]).to_constraint() == Constraint(kind="choice", choices=("a", "b"))
    assert chat(tunelab_regex=r"\d+").to_constraint() == Constraint(kind="regex", pattern=r"\d+")
    comp = CompletionRequest.model_validate({"model": "m", "prompt": "x", "tunelab_choices": ["yes", "no"]})
    assert comp.to_constraint().choices == ("yes", "no")


@pytest.mark.parametrize("fields, message", [
    ({"response_format": {"type": "json_schema"}}, "json_schema.schema"),
    ({"response_format": {"type": "json_object"}, "tunelab_regex": "a"}, "at most one"),
    ({"tunelab_regex": "(unclosed"}, "not a valid regular expression"),
    ({"tunelab_choices": []}, "at least one"),
    ({"top_logprobs": 2}, "needs logprobs"),
    ({"presence_penalty": 2.5}, "less than or equal to 2"),
    ({"tools": [{"type": "function"}]}, "not supported"),
    ({"temperature": 2.5}, "less than or equal to 2"),
    ({"n": 0}, "greater than or equal to 1"),
    ({"max_tokens": "many"}, "valid integer"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "not supported"),
    ({"stop": ["x"] * 17}, "at most 16"),
])
def test_refused_requests_say_why(fields, message):
    with pytest.raises(ValidationError, match=message):
        chat(**fields)


def test_unknown_fields_are_ignored_and_parts_are_joined():
    r = chat(frobnicate=True, presence_penalty=0, messages=[
        {"role": "developer", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hel"}, {"type": "text", "text": "lo"}]}])
    assert not hasattr(r, "frobnicate")
    assert [m.to_template() for m in r.messages] == [{"role": "system", "content": "be brief"},
                                                     {"role": "user", "content": "hello"}]
    assert chat(logprobs=True, top_logprobs=3).logprobs_k() == 3
    assert chat(logprobs=True).logprobs_k() == 0 and chat().logprobs_k() is None


def test_completion_prompts_of_every_shape():
    make = lambda p, **kw: CompletionRequest.model_validate({"model": "m", "prompt": p, **kw})  # noqa: E731
    assert make("a").prompts() == ["a"]
    assert make(["a", "b"]).prompts() == ["a", "b"]
    assert make([1, 2, 3]).prompts() == [[1, 2, 3]]
    assert make([[1, 2], [3]]).prompts() == [[1, 2], [3]]
    assert make("a").to_sampling(default_max_tokens=99).max_tokens == 16  # OpenAI's default for completions
    for bad in ({"suffix": "x"}, {"best_of": 3}):
        with pytest.raises(ValidationError, match="not supported"):
            make("a", **bad)


def test_embedding_inputs():
    assert EmbeddingRequest(model="m", input="a").texts() == ["a"]
    assert EmbeddingRequest(model="m", input=["a", "b"]).texts() == ["a", "b"]
    with pytest.raises(ValueError, match="token-id"):
        EmbeddingRequest(model="m", input=[1, 2]).texts()


def test_stream_chunks_carry_only_the_delta_keys_that_are_set():
    chunk = ChatCompletionChunk(id="c", created=1, model="m", choices=[
        ChunkChoice(index=0, delta=ChoiceDelta(role="assistant", content="")),
        ChunkChoice(index=1, delta=ChoiceDelta(), finish_reason="stop")])
    dumped = chunk.model_dump(mode="json", exclude={"usage"})
    assert dumped["choices"][0]["delta"] == {"content": "", "role": "assistant"}
    assert dumped["choices"][1]["delta"] == {} and dumped["choices"][1]["finish_reason"] == "stop"
    assert "usage" not in dumped and chunk.model_dump()["usage"] is None


def test_adapter_request_takes_vllm_field_name_too():
    assert AdapterRequest.model_validate({"lora_name": "a"}).name == "a"
    assert AdapterRequest.model_validate({"name": "b"}).name == "b"
