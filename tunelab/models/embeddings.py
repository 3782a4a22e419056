"""Encoder models: token embeddings (for BERTScore) and sentence embeddings (for RAG and
/v1/embeddings) from the packaged all-MiniLM-L6-v2 or another folder.

`token_embedder()` loads the encoder once and returns embed(texts) → one [tokens, dim] float32
matrix per text (last hidden layer, [CLS]/[SEP]/padding left out), the input `bertscore` expects.
`sentence_embedder()` returns a `SentenceEmbedder` whose `.embed(texts)` is an [n, dim] matrix of
unit-length rows (sentence-transformers pooling), with the `.name` and `.dimension` an index records."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.models.errors import ModelSourceError
from tunelab.models.packaged import minilm_dir
from tunelab.models.progress import hf_bars_off

TokenEmbedder = Callable[[Sequence[str]], list[np.ndarray]]


def token_embedder(
    folder: str | Path | None = None,
    *,
    device: str = "cpu",
    batch_size: int = 32,
    max_length: int = 256,
) -> TokenEmbedder:
    """Load the encoder in `folder` (default: the packaged MiniLM, `tunelab.models.packaged.minilm_dir()`)
    and return a function texts → list of [tokens, dim] arrays. Texts longer than `max_length`
    word pieces (MiniLM's trained length is 256) are truncated."""
    import torch  # lazy: torch is slow to import
    from transformers import AutoModel, AutoTokenizer  # lazy: transformers is slow to import


    path = Path(folder) if folder is not None else minilm_dir()
    with hf_bars_off():
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path)
    model.to(device).eval()

    def embed(texts: list[str]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                list(texts[start : start + batch_size]),
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
                return_special_tokens_mask=True,
            )
            # special_tokens_mask is 1 on [CLS], [SEP] and padding: BERTScore leaves those out
            keep = batch.pop("special_tokens_mask") == 0  # [batch, tokens]
            with torch.inference_mode():
                hidden = model(**batch.to(device)).last_hidden_state  # [batch, tokens, dim]
            out.extend(h[k].float().cpu().numpy() for h, k in zip(hidden, keep.to(hidden.device)))
        return out

    return embed


# Names under which the packaged model is known; all resolve to `minilm_dir()`.
PACKAGED_SENTENCE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED_ALIASES = {"minilm", "all-minilm-l6-v2", PACKAGED_SENTENCE_MODEL.lower()}


@dataclass
class SentenceEmbedder:
    """A loaded sentence-transformers model. `name` is what an index records and compares.

    One call at a time: the server calls it from worker threads, and a fast tokenizer keeps its
    truncation and padding settings between calls, so a `count_tokens` beside an `embed` could leave
    the batch unpadded ("Unable to create tensor"), seen under the load bench."""

    name: str
    dimension: int
    model: Any  # sentence_transformers.SentenceTransformer
    batch_size: int = 32
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """[n, dimension] float32, each row of unit L2 norm (so dot product = cosine similarity)."""
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Word pieces in `text` as this model's tokenizer splits it (no special tokens)."""
        with self._lock:
            return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])

    @property
    def max_tokens(self) -> int:
        """Longest input the model reads; longer texts are truncated."""
        return int(self.model.max_seq_length or 512)


def sentence_embedder(name_or_folder: str | Path | None = None, *, device: str = "cpu", offline: bool = True,
                      batch_size: int = 32) -> SentenceEmbedder:
    """Load a sentence-transformers model: None or 'minilm' (or its hub name) is the packaged
    all-MiniLM-L6-v2; a folder is loaded as is; any other name comes from the local Hugging Face
    cache, or from the hub when `offline` is False."""
    from sentence_transformers import SentenceTransformer  # lazy: sentence-transformers is slow to import


    raw = None if name_or_folder is None else str(name_or_folder)
    is_folder = False
    if raw is None or raw.lower() in _PACKAGED_ALIASES:
        name, source, local_only = PACKAGED_SENTENCE_MODEL, str(minilm_dir()), True
    elif Path(raw).expanduser().exists():
        folder = Path(raw).expanduser().resolve()
        if not (folder / "config.json").is_file() and not (folder / "modules.json").is_file():
            raise ModelSourceError(f"{folder} holds no sentence-transformers model (no modules.json or config.json).")
        name, source, local_only, is_folder = str(folder), str(folder), True, True
    else:
        name, source, local_only = raw, raw, offline
    try:
        with hf_bars_off():
            try:
                model = SentenceTransformer(source, device=device, local_files_only=True)
            except OSError:
                if local_only:
                    raise
                model = SentenceTransformer(source, device=device)
    except OSError as exc:
        hint = str(exc) if is_folder or not local_only or raw is None else (
            "it is neither a folder nor in the local Hugging Face cache, and hub access is off; "
            "download it where a hub is reachable and pass the folder")
        raise ModelSourceError(f"Could not load the sentence-transformers model '{raw or name}': {hint}.") from exc
    dimension = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") \
        else model.get_sentence_embedding_dimension()
    return SentenceEmbedder(name=name, dimension=int(dimension), model=model, batch_size=batch_size)


_SHARED: list[SentenceEmbedder] = []
_SHARED_LOCK = threading.Lock()


def shared_sentence_embedder() -> SentenceEmbedder:
    """The packaged all-MiniLM-L6-v2, loaded once per process and shared: the category index, the knn
    catalogue, grounded QA and the server's /v1/embeddings read with the same copy."""
    with _SHARED_LOCK:
        if not _SHARED:
            _SHARED.append(sentence_embedder())
        return _SHARED[0]
