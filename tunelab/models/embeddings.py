"""Encoder models: token embeddings (for BERTScore) from the packaged all-MiniLM-L6-v2 or another folder.

`token_embedder()` loads the encoder once and returns embed(texts) → one [tokens, dim] float32
matrix per text (last hidden layer, [CLS]/[SEP]/padding left out), the input `bertscore` expects."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from typing import Callable, Sequence

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
    import torch
    from transformers import AutoModel, AutoTokenizer

    from tunelab.models.packaged import minilm_dir
    from tunelab.models.progress import hf_bars_off

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
