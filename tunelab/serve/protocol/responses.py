"""OpenAI response models: chat completions and their stream chunks, completions, embeddings, the
model list and error bodies, fields in the order of OpenAI's API reference."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, Field, model_serializer


class Usage(BaseModel):
    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0


class TopLogprob(BaseModel):
    token: str
    bytes: list[int] | None = None
    logprob: float


class TokenLogprob(BaseModel):
    token: str
    bytes: list[int] | None = None
    logprob: float
    top_logprobs: list[TopLogprob] = Field(default_factory=list)


class ChoiceLogprobs(BaseModel):
    content: list[TokenLogprob] | None = None
    refusal: list[TokenLogprob] | None = None


class ChatCompletionMessage(BaseModel):
    content: str | None = None
    refusal: str | None = None
    role: Literal["assistant"] = "assistant"


class ChatChoice(BaseModel):
    finish_reason: Literal["stop", "length", "abort"] | None = None
    index: int
    logprobs: ChoiceLogprobs | None = None
    message: ChatCompletionMessage


class ChatCompletion(BaseModel):
    id: str
    choices: list[ChatChoice]
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    object: Literal["chat.completion"] = "chat.completion"
    system_fingerprint: str | None = None
    usage: Usage


class ChoiceDelta(BaseModel):
    """Only the keys that are set go on the wire: {"role": ..., "content": ""} first, then
    {"content": ...}, then {} with the finish_reason, as OpenAI streams them."""

    content: str | None = None
    role: Literal["assistant"] | None = None

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler):
        return {k: v for k, v in handler(self).items() if v is not None}


class ChunkChoice(BaseModel):
    delta: ChoiceDelta
    finish_reason: Literal["stop", "length", "abort"] | None = None
    index: int
    logprobs: ChoiceLogprobs | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    choices: list[ChunkChoice]
    created: int
    model: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    system_fingerprint: str | None = None
    usage: Usage | None = None


class CompletionLogprobs(BaseModel):
    text_offset: list[int] = Field(default_factory=list)
    token_logprobs: list[float | None] = Field(default_factory=list)
    tokens: list[str] = Field(default_factory=list)
    top_logprobs: list[dict[str, float] | None] = Field(default_factory=list)


class CompletionChoice(BaseModel):
    finish_reason: Literal["stop", "length", "abort"] | None = None
    index: int
    logprobs: CompletionLogprobs | None = None
    text: str


class Completion(BaseModel):
    """Also the shape of each streamed chunk of /v1/completions (with `usage` null until the last)."""

    id: str
    choices: list[CompletionChoice]
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    object: Literal["text_completion"] = "text_completion"
    system_fingerprint: str | None = None
    usage: Usage | None = None


class Embedding(BaseModel):
    embedding: list[float] | str  # str: base64 of little-endian float32, when encoding_format=base64
    index: int
    object: Literal["embedding"] = "embedding"


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class CreateEmbeddingResponse(BaseModel):
    data: list[Embedding]
    model: str
    object: Literal["list"] = "list"
    usage: EmbeddingUsage


class Model(BaseModel):
    id: str
    created: int
    object: Literal["model"] = "model"
    owned_by: str

    # --- TuneLab extensions --------------------------------------------------------------------
    # parent: for an adapter, the base model it runs on; for an upstream model, the upstream.
    # tunelab_kind: base | adapter | embedding | upstream
    # tunelab_quantization: for the base model and its adapters, how the base weights are held (none | int8)
    parent: str | None = None
    tunelab_kind: Literal["base", "adapter", "embedding", "upstream"] | None = None
    tunelab_quantization: Literal["none", "int8"] | None = None
    # --- end of TuneLab extensions -------------------------------------------------------------


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class ErrorBody(BaseModel):
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


