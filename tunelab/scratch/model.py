"""The whole decoder: token embeddings, the blocks, a final RMSNorm, and the output projection that
turns each position's vector into one score (logit) per vocabulary token.

Teaches: a language model is this short loop. With tied embeddings (SmolLM2) the output projection is
the embedding matrix itself: the score of token w is the dot product of the final vector with w's
embedding, which saves vocab * dim parameters (28M of SmolLM2-135M's 135M). Weights load from a
Hugging Face folder (config.json + *.safetensors) by name: the module names here are the checkpoint's.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from tunelab.models.errors import ModelSourceError
from tunelab.scratch.block import Block
from tunelab.scratch.config import LlamaConfig
from tunelab.scratch.kv_cache import KVCache
from tunelab.scratch.rmsnorm import RMSNorm
from tunelab.scratch.rope import RotaryEmbedding


def checkpoint_name(name: str) -> str:
    """Our parameter name -> the checkpoint's: everything but lm_head sits under 'model.'."""
    return name if name.startswith("lm_head.") else f"model.{name}"


class ScratchLlama(nn.Module):
    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)  # (vocab, dim)
        self.layers = nn.ModuleList(Block(cfg, i) for i in range(cfg.num_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        # tied: no output matrix of its own; the logits use embed_tokens.weight (see forward)
        self.lm_head = None if cfg.tie_word_embeddings else nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.rope = RotaryEmbedding(cfg.head_dim, cfg.rope_theta)

    def output_weight(self) -> torch.Tensor:
        """(vocab, dim): the matrix that scores every token."""
        return self.embed_tokens.weight if self.lm_head is None else self.lm_head.weight

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None, *,
                last_only: bool = False) -> torch.Tensor:
        """input_ids: (batch, new) token ids, at positions len(cache).. (0.. without a cache) ->
        logits (batch, new, vocab), or (batch, 1, vocab) with last_only (all generation needs)."""
        b, t = input_ids.shape
        start = len(cache) if cache is not None else 0
        positions = torch.arange(start, start + t, device=input_ids.device).expand(b, t)  # (b, t)
        x = self.embed_tokens(input_ids)  # (b, t, dim)
        cos, sin = self.rope(positions, x.dtype)  # (b, t, head_dim) each, shared by every layer
        for block in self.layers:
            x = block(x, cos, sin, cache)  # (b, t, dim)
        x = self.norm(x)  # (b, t, dim)
        if last_only:
            x = x[:, -1:]  # (b, 1, dim): scoring only the last position saves t - 1 big matmuls
        return x @ self.output_weight().T  # (b, t or 1, vocab)

    def new_cache(self) -> KVCache:
        return KVCache(self.cfg.num_layers)

    @classmethod
    def from_folder(cls, folder: str | Path, *, dtype: torch.dtype = torch.float32,
                    device: torch.device | str = "cpu") -> ScratchLlama:
        """Build the model that config.json describes and fill it with the folder's safetensors."""
        folder = Path(folder)
        cfg = LlamaConfig.from_folder(folder)
        tensors = read_safetensors(folder)
        ours = {name[len("model."):] if name.startswith("model.") else name: t for name, t in tensors.items()
                if not name.endswith("rotary_emb.inv_freq")}  # old checkpoints saved RoPE's frequencies
        if cfg.tie_word_embeddings:
            ours.pop("lm_head.weight", None)  # some tied checkpoints store the shared matrix twice
        with torch.device("meta"):  # shapes only: no time spent on random weights about to be replaced
            model = cls(cfg)
        model.rope = RotaryEmbedding(cfg.head_dim, cfg.rope_theta)  # a computed buffer, not a weight
        shapes = {name: t.shape for name, t in model.state_dict().items()}
        expected = set(shapes)
        missing, unexpected = sorted(expected - set(ours)), sorted(set(ours) - expected)
        if missing or unexpected:
            raise ModelSourceError(f"{folder}: the weights do not match config.json: missing "
                                   f"{[checkpoint_name(n) for n in missing[:5]]}, unexpected {unexpected[:5]}.")
        for name, t in ours.items():
            if t.shape != shapes[name]:
                raise ModelSourceError(f"{folder}: {checkpoint_name(name)} has shape {tuple(t.shape)}; "
                                       f"config.json implies {tuple(shapes[name])}.")
        model.load_state_dict({n: t.to(dtype) for n, t in ours.items()}, assign=True)
        return model.to(device).eval()


def read_safetensors(folder: Path) -> dict[str, torch.Tensor]:
    """Every tensor in model.safetensors, or in the shards model.safetensors.index.json lists."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
    elif (folder / "model.safetensors").is_file():
        shards = ["model.safetensors"]
    else:
        raise ModelSourceError(f"{folder} has no model.safetensors (or index): the scratch model reads safetensors only.")
    tensors: dict[str, torch.Tensor] = {}
    for shard in shards:
        tensors.update(load_file(str(folder / shard)))
    return tensors
