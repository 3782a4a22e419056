"""OpenAI request models for /v1/chat/completions, /v1/completions and /v1/embeddings, fields in the
order of OpenAI's API reference, and the bodies of TuneLab's own /v1/adapters endpoints. Unknown
fields are ignored (as OpenAI does); our own fields sit in a fenced block at the end of each request,
prefixed `tunelab_`. A request builds its own sampling settings (`to_sampling`) and output constraint
(`to_constraint`).
"""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from tunelab.engine.sampling import SamplingParams
from tunelab.engine.types import Constraint

MAX_N = 16  # choices per request
MAX_STOP = 16  # stop strings per request
MAX_TOP_LOGPROBS = 20


class OpenAIModel(BaseModel):
    """Requests ignore unknown fields, as OpenAI's API does."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# ---------------------------------------------------------------------------------------------
# Shared request parts
# ---------------------------------------------------------------------------------------------


class StreamOptions(OpenAIModel):
    include_usage: bool = False


class JSONSchemaFormat(OpenAIModel):
    name: str = "response"
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(OpenAIModel):
    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and (self.json_schema is None or self.json_schema.schema_ is None):
            raise ValueError("response_format of type 'json_schema' needs json_schema.schema")
        return self


class _Sampling(OpenAIModel):
    """Fields both generation requests share, and what they build from them."""

    # TuneLab extension: false lets the output repeat itself to max_tokens (see engine/repetition.py).
    tunelab_loop_guard: bool = Field(default=True, description="End the output once it repeats one block of 8-64 "
                                     "tokens three times in a row (TuneLab extension).")

    def requested_max_tokens(self) -> int | None:
        """max_tokens as the client gave it (None: as many as fit)."""
        return None

    def stop_list(self) -> list[str]:
        stop = getattr(self, "stop", None)
        if stop is None:
            return []
        return [stop] if isinstance(stop, str) else list(stop)

    def to_sampling(self, *, default_max_tokens: int) -> SamplingParams:
        """The engine's sampling settings. OpenAI's defaults: temperature 1, top_p 1; max_tokens
        `default_max_tokens` (the room left in the context, capped by the server) when not given."""
        temperature = 1.0 if self.temperature is None else self.temperature
        top_p = 1.0 if self.top_p is None else self.top_p
        if top_p == 0:  # only the most likely token survives: that is greedy decoding
            temperature, top_p = 0.0, 1.0
        return SamplingParams(
            max_tokens=self.requested_max_tokens() or default_max_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=self.seed,
            stop=self.stop_list(),
            frequency_penalty=getattr(self, "frequency_penalty", None) or 0.0,
            presence_penalty=getattr(self, "presence_penalty", None) or 0.0,
            loop_guard=self.tunelab_loop_guard,
        )

    def to_constraint(self) -> Constraint | None:
        """What the output must match: response_format json_object / json_schema, or one of our
        extensions (tunelab_choices, tunelab_regex); None for free text."""
        fmt: ResponseFormat | None = getattr(self, "response_format", None)
        if self.tunelab_choices is not None:
            return Constraint(kind="choice", choices=tuple(self.tunelab_choices))
        if self.tunelab_regex is not None:
            return Constraint(kind="regex", pattern=self.tunelab_regex)
        if fmt is None or fmt.type == "text":
            return None
        if fmt.type == "json_object":
            return Constraint(kind="json_object")
        return Constraint(kind="json_schema", schema=fmt.json_schema.schema_)

    @model_validator(mode="after")
    def _one_constraint(self):
        fmt: ResponseFormat | None = getattr(self, "response_format", None)
        given = [name for name, on in (
            ("response_format", fmt is not None and fmt.type != "text"),
            ("tunelab_choices", self.tunelab_choices is not None),
            ("tunelab_regex", self.tunelab_regex is not None),
        ) if on]
        if len(given) > 1:
            raise ValueError(f"give at most one output constraint; got {', '.join(given)}")
        return self

    @field_validator("tunelab_choices", check_fields=False)
    @classmethod
    def _choices(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and (not v or any(not c for c in v)):
            raise ValueError("tunelab_choices needs at least one non-empty label")
        return v

    @field_validator("tunelab_regex", check_fields=False)
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"tunelab_regex is not a valid regular expression: {exc}") from None
        return v

    @field_validator("stop", check_fields=False)
    @classmethod
    def _stop(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list) and len(v) > MAX_STOP:
            raise ValueError(f"at most {MAX_STOP} stop sequences")
        return v

    @model_validator(mode="after")
    def _unsupported(self):
        if getattr(self, "logit_bias", None):
            raise ValueError("logit_bias is not supported by this server")
        return self


# ---------------------------------------------------------------------------------------------
# /v1/chat/completions
# ---------------------------------------------------------------------------------------------


class ContentPart(OpenAIModel):
    type: str
    text: str | None = None


class ChatMessage(OpenAIModel):
    role: Literal["developer", "system", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None

    def text(self) -> str:
        """The message's text; parts other than text (images, audio) are refused."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        pieces = []
        for part in self.content:
            if part.type != "text" or part.text is None:
                raise ValueError(f"content parts of type '{part.type}' are not supported; send text")
            pieces.append(part.text)
        return "".join(pieces)

    def to_template(self) -> dict:
        """The dict a chat template renders ('developer' is OpenAI's new name for 'system')."""
        return {"role": "system" if self.role == "developer" else self.role, "content": self.text()}


class ChatCompletionRequest(_Sampling):
    messages: list[ChatMessage] = Field(min_length=1)
    model: str
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    max_completion_tokens: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    metadata: dict[str, str] | None = None
    n: int = Field(default=1, ge=1, le=MAX_N)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    response_format: ResponseFormat | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    tools: list[dict[str, Any]] | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    user: str | None = None

    # --- TuneLab extensions (not in OpenAI's API; other servers ignore them) -------------------
    # tunelab_choices: the whole output must be exactly one of these labels (classification).
    # tunelab_regex: the whole output must match this regular expression.
    # Both are served by the constrained engine; a request with them fails with 400 otherwise.
    # tunelab_collection: ground the conversation in a RAG collection: the last user message is
    # searched (tunelab_k chunks, hybrid) and the numbered sources go into the system message; the
    # answer then carries `tunelab_sources` and `tunelab_citations` (streaming: `tunelab_sources` in a
    # chunk before the content, `tunelab_citations` in one after it; both with empty choices).
    tunelab_choices: list[str] | None = None
    tunelab_regex: str | None = None
    tunelab_collection: str | None = None
    tunelab_k: int = Field(default=5, ge=1, le=50)
    # --- end of TuneLab extensions -------------------------------------------------------------

    def requested_max_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def logprobs_k(self) -> int | None:
        """GenRequest.logprobs: None for no logprobs, else how many alternatives per token."""
        return (self.top_logprobs or 0) if self.logprobs else None

    @model_validator(mode="after")
    def _chat_checks(self) -> ChatCompletionRequest:
        if self.top_logprobs is not None and not self.logprobs:
            raise ValueError("top_logprobs needs logprobs: true")
        if self.tools:
            raise ValueError("tools (function calling) are not supported by this server")
        for m in self.messages:
            m.text()  # refuses non-text parts now, as a 400
        return self


# ---------------------------------------------------------------------------------------------
# /v1/completions
# ---------------------------------------------------------------------------------------------


class CompletionRequest(_Sampling):
    model: str
    prompt: str | list[str] | list[int] | list[list[int]]
    best_of: int | None = Field(default=None, ge=1, le=MAX_N)
    echo: bool | None = False
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = None
    logprobs: int | None = Field(default=None, ge=0, le=5)
    max_tokens: int | None = Field(default=16, ge=1)
    n: int = Field(default=1, ge=1, le=MAX_N)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    suffix: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    user: str | None = None

    # --- TuneLab extensions (see ChatCompletionRequest) ----------------------------------------
    response_format: ResponseFormat | None = None  # OpenAI has it on chat only; we take it here too
    tunelab_choices: list[str] | None = None
    tunelab_regex: str | None = None
    # --- end of TuneLab extensions -------------------------------------------------------------

    def requested_max_tokens(self) -> int | None:
        return self.max_tokens

    def prompts(self) -> list[str | list[int]]:
        """One entry per prompt: a text, or a list of token ids."""
        p = self.prompt
        if isinstance(p, str):
            return [p]
        if p and all(isinstance(x, int) for x in p):
            return [list(p)]
        return list(p)

    @model_validator(mode="after")
    def _completion_checks(self) -> CompletionRequest:
        if isinstance(self.prompt, list) and not self.prompt:
            raise ValueError("prompt is empty")
        if self.suffix:
            raise ValueError("suffix (insertion) is not supported by this server")
        if self.best_of is not None and self.best_of != self.n:
            raise ValueError("best_of other than n is not supported by this server")
        return self


# ---------------------------------------------------------------------------------------------
# /v1/embeddings
# ---------------------------------------------------------------------------------------------


class EmbeddingRequest(OpenAIModel):
    input: str | list[str] | list[int] | list[list[int]]
    model: str
    dimensions: int | None = Field(default=None, ge=1)
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None

    def texts(self) -> list[str]:
        inp = self.input
        if isinstance(inp, str):
            return [inp]
        if any(not isinstance(x, str) for x in inp):
            raise ValueError("token-id input is not supported for embeddings; send strings")
        if not inp:
            raise ValueError("input is empty")
        return list(inp)


# ---------------------------------------------------------------------------------------------
# TuneLab's own endpoints: /v1/adapters/load and /v1/adapters/unload
# ---------------------------------------------------------------------------------------------


class AdapterRequest(OpenAIModel):
    """`name` of a registered adapter; vLLM's field name `lora_name` is accepted too."""

    name: str = Field(validation_alias=AliasChoices("name", "lora_name"))


class AdapterState(BaseModel):
    name: str
    loaded: list[str]
