"""What a Llama-architecture checkpoint's config.json says, in the few numbers the scratch model needs.

Teaches: a model folder is weights plus a small JSON of shapes; every size in the other files comes
from here. Only what this code implements is accepted (no biases, SiLU, plain RoPE); anything else is
refused naming the file and the field, rather than loading into a model that silently differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tunelab.models.errors import ModelSourceError


@dataclass(frozen=True)
class LlamaConfig:
    vocab_size: int
    hidden_size: int  # d: the width of the residual stream
    intermediate_size: int  # the MLP's hidden width (about 2.7 d for SmolLM2)
    num_layers: int
    num_heads: int  # query heads
    num_kv_heads: int  # key/value heads; num_heads / num_kv_heads query heads share one (GQA)
    head_dim: int
    rms_norm_eps: float
    rope_theta: float
    max_position_embeddings: int
    tie_word_embeddings: bool  # the output layer reuses the embedding matrix

    @property
    def group_size(self) -> int:
        """Query heads per key/value head."""
        return self.num_heads // self.num_kv_heads

    @classmethod
    def from_dict(cls, raw: dict, where: str = "config.json") -> LlamaConfig:
        def bad(field: str, why: str):
            return ModelSourceError(f"{where}: {field} {why}; the scratch model implements plain Llama only.")

        if raw.get("model_type") != "llama":
            raise bad("model_type", f"is {raw.get('model_type')!r}, not 'llama'")
        for flag in ("attention_bias", "mlp_bias"):
            if raw.get(flag):
                raise bad(flag, "is true (this code has no biases)")
        if raw.get("hidden_act", "silu") != "silu":
            raise bad("hidden_act", f"is {raw['hidden_act']!r}, not 'silu'")
        # transformers 5 writes rope_parameters; older folders have rope_theta at the top level
        rope = raw.get("rope_parameters") or {"rope_theta": raw.get("rope_theta", 10000.0),
                                              "rope_type": (raw.get("rope_scaling") or {}).get("rope_type", "default")}
        if rope.get("rope_type", "default") != "default":
            raise bad("rope_parameters.rope_type", f"is {rope.get('rope_type')!r}, not 'default'")
        try:
            heads = int(raw["num_attention_heads"])
            cfg = cls(
                vocab_size=int(raw["vocab_size"]), hidden_size=int(raw["hidden_size"]),
                intermediate_size=int(raw["intermediate_size"]), num_layers=int(raw["num_hidden_layers"]),
                num_heads=heads, num_kv_heads=int(raw.get("num_key_value_heads") or heads),
                head_dim=int(raw.get("head_dim") or int(raw["hidden_size"]) // heads),
                rms_norm_eps=float(raw.get("rms_norm_eps", 1e-6)), rope_theta=float(rope["rope_theta"]),
                max_position_embeddings=int(raw.get("max_position_embeddings", 2048)),
                tie_word_embeddings=bool(raw.get("tie_word_embeddings", False)),
            )
        except KeyError as exc:
            raise ModelSourceError(f"{where} has no {exc.args[0]}.") from None
        if cfg.num_heads % cfg.num_kv_heads:
            raise bad("num_key_value_heads", f"({cfg.num_kv_heads}) does not divide num_attention_heads ({heads})")
        return cfg

    @classmethod
    def from_folder(cls, folder: str | Path) -> LlamaConfig:
        path = Path(folder) / "config.json"
        if not path.is_file():
            raise ModelSourceError(f"{folder} has no config.json: not a model folder.")
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")), where=str(path))
