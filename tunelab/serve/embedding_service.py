"""The service behind /v1/embeddings (on `app.state.embeddings`): sentence embeddings from the
loaded sentence-transformers model (packaged all-MiniLM-L6-v2 by default: mean pooling, unit length),
as float lists or base64 of little-endian float32, as OpenAI returns them."""

from __future__ import annotations

import base64
import time

import numpy as np

from tunelab.models.embeddings import SentenceEmbedder
from tunelab.models.torch_threads import run_torch
from tunelab.serve.errors import APIError, NotFoundError
from tunelab.serve.protocol import CreateEmbeddingResponse, Embedding, EmbeddingRequest, EmbeddingUsage, Model

MAX_INPUTS = 2048  # OpenAI's limit on inputs per request


class EmbeddingService:
    def __init__(self, embedder: SentenceEmbedder) -> None:
        self.embedder = embedder
        self.created = int(time.time())
        short = embedder.name.rsplit("/", 1)[-1]
        self.aliases = {embedder.name.lower(), short.lower(), "minilm"}

    @property
    def model_id(self) -> str:
        return self.embedder.name

    def models(self) -> list[Model]:
        return [Model(id=self.model_id, created=self.created, owned_by="tunelab", tunelab_kind="embedding")]

    def serves(self, model: str) -> bool:
        return model.lower() in self.aliases

    async def embed(self, req: EmbeddingRequest) -> CreateEmbeddingResponse:
        if not self.serves(req.model):
            raise NotFoundError(f"The embedding model '{req.model}' does not exist on this server. Available: "
                                f"{self.model_id}.", param="model", code="model_not_found")
        try:
            texts = req.texts()
        except ValueError as exc:
            raise APIError(str(exc), param="input") from None
        if len(texts) > MAX_INPUTS:
            raise APIError(f"input has {len(texts)} items; at most {MAX_INPUTS} per request.", param="input")
        dim = self.embedder.dimension
        if req.dimensions is not None and req.dimensions != dim:
            raise APIError(f"{self.model_id} makes {dim}-dimensional embeddings; dimensions={req.dimensions} "
                           f"is not available (leave it out or send {dim}).", param="dimensions")
        vectors = await run_torch(self.embedder.embed, texts)  # [n, dim] float32, unit rows
        tokens = sum(self.embedder.count_tokens(t) for t in texts)
        data = [Embedding(embedding=self._encode(v, req.encoding_format), index=i) for i, v in enumerate(vectors)]
        return CreateEmbeddingResponse(data=data, model=self.model_id,
                                       usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens))

    @staticmethod
    def _encode(vector: np.ndarray, fmt: str) -> list[float] | str:
        if fmt == "base64":
            return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
        return [float(x) for x in vector]
