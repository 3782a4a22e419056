"""A lean decode step for Llama-architecture models: one new token of one sequence, run straight on
the loaded model's weight tensors against a preallocated KV cache (`StaticKV`), with none of
transformers' per-step machinery (mask building, cache classes, output classes, module hooks).

`lean_unsupported(model)` says why a model cannot take this path (None: it can). `LeanLlama(model)`
keeps references to the model's modules, never copies of its weights; `plan(adapter_key)` names, per
linear layer, the base weight (or the module itself when it is not a plain `nn.Linear`: int8 and
4-bit layers run their own kernels) and the LoRA A, B and scaling of that PEFT adapter, and
`step(plan, token, pos, kv)` returns the next position's logits (1, vocab). The math is the HF
Llama forward's, op for op where rounding could differ (RMSNorm in fp32, rotary tables from the
model's own rotary module, SDPA with `enable_gqa` as transformers calls it without a mask, PEFT's
mixed-batch LoRA delta); for one query token no mask is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

LINEARS = (("self_attn", "q_proj"), ("self_attn", "k_proj"), ("self_attn", "v_proj"), ("self_attn", "o_proj"),
           ("mlp", "gate_proj"), ("mlp", "up_proj"), ("mlp", "down_proj"))
STATIC_ROPE = {"default", "linear", "llama3", "yarn"}  # rotary tables that do not depend on the sequence length


def _llama(model: Any) -> Any:
    """The LlamaForCausalLM under a PEFT wrapper, if any."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def lean_unsupported(model: Any) -> str | None:
    """Why `model` cannot run the lean step (a sentence), or None when it can."""
    net = _llama(model)
    cfg = getattr(net, "config", None)
    if type(net).__name__ != "LlamaForCausalLM" or getattr(cfg, "model_type", None) != "llama":
        return f"{type(net).__name__} is not a Llama-architecture causal LM"
    if getattr(cfg, "hidden_act", "silu") != "silu" or getattr(cfg, "pretraining_tp", 1) != 1:
        return "the model's activation or tensor-parallel layout is not plain Llama"
    rope = (getattr(cfg, "rope_parameters", None) or getattr(cfg, "rope_scaling", None) or {})
    if rope.get("rope_type", rope.get("type", "default")) not in STATIC_ROPE:
        return f"rotary scaling '{rope.get('rope_type')}' depends on the sequence length"
    if _is_tuner(net.model.embed_tokens):
        return "an adapter changes the token embeddings"
    return None


def _is_tuner(module: nn.Module) -> bool:
    from peft.tuners.tuners_utils import BaseTunerLayer  # lazy: peft is slow to import

    return isinstance(module, BaseTunerLayer)


@dataclass(frozen=True)
class Linear:
    """One linear layer for one adapter: y = base(x) (+ B(A(x)) * scaling)."""

    weight: torch.Tensor | None  # a plain nn.Linear's weight, else None and `module` runs it
    bias: torch.Tensor | None
    module: Any = None
    lora: tuple[torch.Tensor, torch.Tensor, float] | None = None  # (A (r, in), B (out, r), scaling)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x, self.weight, self.bias) if self.module is None else self.module(x)
        if self.lora is not None:
            a, b, scaling = self.lora
            # As PEFT's mixed-batch forward: the delta in the adapter's dtype, cast, then added.
            y = y + (F.linear(F.linear(x.to(a.dtype), a), b) * scaling).to(y.dtype)
        return y


def linear_for(module: nn.Module, adapter_key: str) -> Linear:
    """The `Linear` of `module` (an nn.Linear, another layer type, or a PEFT LoRA layer around one)
    under adapter `adapter_key` ("" for the base). ValueError: a PEFT layer the lean step cannot run."""
    lora = None
    if _is_tuner(module):
        from peft.tuners.lora.layer import Linear as LoraLinear  # lazy: peft is slow to import

        if not isinstance(module, LoraLinear) or module.merged or module.disable_adapters:
            raise ValueError(f"{type(module).__name__} (merged or not plain LoRA)")
        if adapter_key in module.lora_A:
            if module.use_dora.get(adapter_key) or adapter_key in module.lora_variant or module.fan_in_fan_out:
                raise ValueError("a DoRA or LoRA-variant adapter")
            lora = (module.lora_A[adapter_key].weight, module.lora_B[adapter_key].weight,
                    float(module.scaling[adapter_key]))
        module = module.get_base_layer()
    if type(module) is nn.Linear:
        return Linear(module.weight, module.bias, lora=lora)
    return Linear(None, None, module=module, lora=lora)


@dataclass(frozen=True)
class Plan:
    """The weights one sequence decodes under: per layer the 7 linears (q, k, v, o, gate, up, down)."""

    adapter_key: str
    layers: list[tuple[Linear, ...]]
    lm_head: Linear


class StaticKV:
    """Keys and values of one sequence, preallocated: (layers, 1, kv_heads, capacity, head_dim)
    each; positions [0, length) are filled. Grows (doubling) when a step needs more room."""

    def __init__(self, layers: list[tuple[torch.Tensor, torch.Tensor]], capacity: int) -> None:
        k0 = layers[0][0]  # (1, H, L, D)
        self.length = k0.shape[2]
        shape = (len(layers), 1, k0.shape[1], max(capacity, self.length + 1), k0.shape[3])
        self.keys = k0.new_empty(shape)
        self.values = k0.new_empty(shape)
        for i, (k, v) in enumerate(layers):
            self.keys[i, :, :, :self.length] = k
            self.values[i, :, :, :self.length] = v

    @property
    def capacity(self) -> int:
        return self.keys.shape[3]

    def reserve(self, n: int) -> None:
        """Room for `n` positions in all."""
        if n <= self.capacity:
            return
        cap = max(n, 2 * self.capacity)
        for name in ("keys", "values"):
            old = getattr(self, name)
            new = old.new_empty((*old.shape[:3], cap, old.shape[4]))
            new[:, :, :, :self.length] = old[:, :, :, :self.length]
            setattr(self, name, new)

    def layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer (keys, values), (1, H, length, D): views of the filled part."""
        n = self.length
        return [(self.keys[i, :, :, :n], self.values[i, :, :, :n]) for i in range(self.keys.shape[0])]


class LeanLlama:
    def __init__(self, model: Any) -> None:
        reason = lean_unsupported(model)
        if reason is not None:
            raise ValueError(f"The lean decode step cannot run this model: {reason}.")
        net = _llama(model)
        cfg = net.config
        self.net, self.model = net, net.model
        self.heads, self.kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        self.scale = self.head_dim ** -0.5
        self._cos: torch.Tensor | None = None  # (positions, head_dim), from the model's rotary module
        self._sin: torch.Tensor | None = None

    def plan(self, adapter_key: str = "") -> Plan:
        """The weights for adapter `adapter_key` ("" for the base). ValueError: an adapter layer the lean
        step cannot run (the caller falls back to the model's own forward)."""
        layers = []
        for layer in self.model.layers:
            layers.append(tuple(linear_for(getattr(getattr(layer, part), name), adapter_key) for part, name in LINEARS))
        return Plan(adapter_key, layers, linear_for(self.net.lm_head, adapter_key))

    def _rope(self, pos: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cos, sin of position `pos`, (1, 1, 1, head_dim), in `like`'s dtype: rows of a table the
        model's rotary module computed (the same numbers as its per-step call), grown by doubling."""
        if self._cos is None or pos >= self._cos.shape[0] or self._cos.dtype != like.dtype:
            n = max(pos + 1, 2 * (0 if self._cos is None else self._cos.shape[0]), 256)
            ids = torch.arange(n, device=like.device)[None]
            cos, sin = self.model.rotary_emb(like, position_ids=ids)  # (1, n, D) each
            self._cos, self._sin = cos[0], sin[0]
        return self._cos[pos].view(1, 1, 1, -1), self._sin[pos].view(1, 1, 1, -1)

    def step(self, plan: Plan, token: torch.Tensor, pos: int, kv: StaticKV) -> torch.Tensor:
        """token: (1, 1) ids of the token at position `pos` (== kv.length); writes its keys and values
        into `kv` and returns the logits of the next position, (1, vocab)."""
        kv.reserve(pos + 1)
        x = self.model.embed_tokens(token)  # (1, 1, hidden)
        cos, sin = self._rope(pos, x)
        g, d = self.kv_heads, self.head_dim
        for i, (layer, (q_p, k_p, v_p, o_p, gate_p, up_p, down_p)) in enumerate(zip(self.model.layers, plan.layers)):
            h = _rms(x, layer.input_layernorm)
            q = _rotate(q_p(h).view(1, self.heads, 1, d), cos, sin)
            kv.keys[i, :, :, pos] = _rotate(k_p(h).view(1, g, 1, d), cos, sin)[:, :, 0]
            kv.values[i, :, :, pos] = v_p(h).view(1, g, d)
            keys, values = kv.keys[i, :, :, :pos + 1], kv.values[i, :, :, :pos + 1]  # (1, g, L, D)
            # Grouped-query attention without repeating K and V, as transformers' SDPA call with no mask.
            att = F.scaled_dot_product_attention(q, keys, values, scale=self.scale, enable_gqa=True)
            x = x + o_p(att.reshape(1, 1, -1))
            h = _rms(x, layer.post_attention_layernorm)
            x = x + down_p(F.silu(gate_p(h)) * up_p(h))
        kv.length = pos + 1
        return plan.lm_head(_rms(x, self.model.norm))[:, -1, :]


def _rms(x: torch.Tensor, norm: nn.Module) -> torch.Tensor:
    """LlamaRMSNorm's forward: the statistics in fp32, the weight applied in the input's dtype (for
    fp32 input torch's fused kernel gives the very same numbers, in one op)."""
    if x.dtype == torch.float32 and norm.weight.dtype == torch.float32:
        return F.rms_norm(x, norm.weight.shape, norm.weight, norm.variance_epsilon)
    h = x.to(torch.float32)
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon)
    return norm.weight * h.to(x.dtype)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of x (1, heads, 1, D): x * cos + rotate_half(x) * sin."""
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin
