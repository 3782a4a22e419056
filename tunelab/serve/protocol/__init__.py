"""The OpenAI-compatible protocol: request models (requests.py: what a route accepts, each building its
own sampling settings and output constraint) and response models (responses.py), in the order of
OpenAI's API reference, our own fields fenced off and prefixed `tunelab_`."""

from tunelab.serve.protocol.requests import (
    MAX_N,
    MAX_STOP,
    MAX_TOP_LOGPROBS,
    AdapterRequest,
    AdapterState,
    ChatCompletionRequest,
    ChatMessage,
    CompletionRequest,
    ContentPart,
    EmbeddingRequest,
    JSONSchemaFormat,
    OpenAIModel,
    ResponseFormat,
    StreamOptions,
)
from tunelab.serve.protocol.responses import (
    ChatChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChoiceDelta,
    ChoiceLogprobs,
    ChunkChoice,
    Completion,
    CompletionChoice,
    CompletionLogprobs,
    CreateEmbeddingResponse,
    Embedding,
    EmbeddingUsage,
    ErrorBody,
    ErrorResponse,
    Model,
    ModelList,
    TokenLogprob,
    TopLogprob,
    Usage,
)

__all__ = ['AdapterRequest', 'AdapterState', 'ChatChoice', 'ChatCompletion', 'ChatCompletionChunk', 'ChatCompletionMessage', 'ChatCompletionRequest', 'ChatMessage', 'ChoiceDelta', 'ChoiceLogprobs', 'ChunkChoice', 'Completion', 'CompletionChoice', 'CompletionLogprobs', 'CompletionRequest', 'ContentPart', 'CreateEmbeddingResponse', 'Embedding', 'EmbeddingRequest', 'EmbeddingUsage', 'ErrorBody', 'ErrorResponse', 'JSONSchemaFormat', 'MAX_N', 'MAX_STOP', 'MAX_TOP_LOGPROBS', 'Model', 'ModelList', 'OpenAIModel', 'ResponseFormat', 'StreamOptions', 'TokenLogprob', 'TopLogprob', 'Usage']
