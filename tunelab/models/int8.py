"""Int8 inference on the CPU: every `nn.Linear` of a loaded model becomes an `Int8Linear` that
holds its weight as int8 (one scale per output channel) and multiplies with torch's own fbgemm
int8 GEMM, no extra library; every `nn.Embedding` becomes an int8 table. Each input row (token)
is divided by its largest magnitude and quantized to 8 bits at one fixed scale; the int32 products
are rescaled to fp32.

Why this scheme (measured on SmolLM2-135M, 2-core AMD EPYC with AVX2, one torch thread):
- torchao 0.18's `Int8WeightOnlyConfig` runs in eager mode by casting the int8 weight back to
  float on every call, and its int8 x int8 path goes through a slow `_int_mm`: 3 to 12x slower than
  fp32 per layer here (it is made for torch.compile). With fbgemm the Linear layers take half the
  time of fp32's, a decoded token 1/1.45 to 1/1.6 of it (bench/quantized.py).
- torch's `quantize_dynamic` takes one activation range for the whole input, so one token with an
  outlier ruins the others (perplexity 153 -> 530); here each row has its own range, and a row's
  int8 values, so its output, do not depend on the other rows of its batch: the batching engine
  gives every request the tokens it would get alone, as in fp32.
- fbgemm's AVX2 kernel adds pairs of u8 x s8 products in int16, which saturate with 8-bit weights
  and 8-bit activations; torch's default keeps 7-bit activations for that (perplexity +11%),
  7-bit weights cost less (+2%): weights are kept in [-63, 63], activations get 8 bits.
- the LM head is quantized too: it is the largest matrix (49152 x 576) and gains most. The input
  embeddings become an int8 table (`Int8Embedding`, 8 bits, a scale per row); a tied LM head gets
  its own int8 copy.

torch marks its quantized tensor types (`quantize_per_channel`, packed weights) as deprecated; when
they go, this module needs another int8 kernel. Inference only (no gradients through the int8
weights), CPU only. LoRA adapters stay in fp32 on top (`tunelab.models.int8_lora`).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from tunelab.models.errors import ModelError

QUANTIZATIONS = ("none", "int8")  # what the serving setting accepts (training also has nf4)
WEIGHT_MAX = 63  # int8 weight range: no pair of u8 x s8 products overflows fbgemm's int16 sums
TINY = torch.finfo(torch.float32).tiny
# fbgemm's int8 GEMM with the input quantized at a scale and zero point given by the caller, fp32 out
_QDQ_LINEAR = torch.ops.quantized.linear_with_input_q_dq_qweight_dq_output_fp32


class Int8Linear(nn.Module):
    """A Linear layer with an int8 weight packed for fbgemm and an fp32 scale per output channel."""

    def __init__(self, in_features: int, out_features: int, packed, scale: torch.Tensor,
                 bias: torch.Tensor | None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._packed = packed  # fbgemm's packed int8 weight (no bias: it is added after rescaling)
        # A parameter (not a buffer) so PEFT, which places LoRA layers by the base layer's first
        # parameter, finds the device; never trained.
        self.weight_scale = nn.Parameter(scale, requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> Int8Linear:
        w = linear.weight.detach().float()
        scale = (w.abs().amax(dim=1) / WEIGHT_MAX).clamp_min(TINY)
        with warnings.catch_warnings():  # torch marks its quantized tensor types deprecated (see above)
            warnings.simplefilter("ignore", UserWarning)
            q = torch.quantize_per_channel(w, scale.double(), torch.zeros(w.shape[0], dtype=torch.long), 0,
                                           torch.qint8)
            packed = torch.ops.quantized.linear_prepack(q, None)
        bias = None if linear.bias is None else linear.bias.detach().float().clone()
        return cls(linear.in_features, linear.out_features, packed, scale, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape, dtype = x.shape, x.dtype
        rows = x.reshape(-1, self.in_features).float()
        # Each row (token) divided by its largest magnitude, then quantized with one fixed scale: a
        # row's int8 values, and so its output, do not depend on the other rows of the batch.
        r = torch.linalg.vector_norm(rows, ord=float("inf"), dim=1, keepdim=True).clamp_min_(TINY)
        y = _QDQ_LINEAR(rows / r, 1 / 127, 128, self._packed) * r
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*shape[:-1], self.out_features).to(dtype)

    def int8_weight(self) -> torch.Tensor:
        """The weight as int8 values (a copy unpacked from fbgemm's layout)."""
        return torch.ops.quantized.linear_unpack(self._packed)[0].int_repr()

    def dequantized_weight(self) -> torch.Tensor:
        return self.int8_weight().float() * self.weight_scale[:, None]

    @property
    def nbytes(self) -> int:
        """Bytes held for this layer: the int8 weight, its scales and the bias."""
        extra = 0 if self.bias is None else self.bias.nbytes
        return self.in_features * self.out_features + self.weight_scale.nbytes + extra

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8, bias={self.bias is not None}"


class Int8Embedding(nn.Module):
    """An embedding table in int8, one fp32 scale per token row (8 bits: a lookup has no int16 sums
    to overflow); a looked-up row is scaled back to fp32."""

    def __init__(self, embedding: nn.Embedding) -> None:
        super().__init__()
        w = embedding.weight.detach().float()
        self.num_embeddings, self.embedding_dim = embedding.num_embeddings, embedding.embedding_dim
        self.padding_idx = embedding.padding_idx
        scale = (w.abs().amax(dim=1) / 127).clamp_min(TINY)
        self.register_buffer("qweight", (w / scale[:, None]).round().clamp(-127, 127).to(torch.int8))
        self.weight_scale = nn.Parameter(scale, requires_grad=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.qweight[ids].float() * self.weight_scale[ids].unsqueeze(-1)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, int8"


def check_int8_device(device: torch.device) -> None:
    if device.type != "cpu":
        raise ModelError(f"int8 quantization runs on the CPU (torch's fbgemm kernels), not on {device}: "
                         f"set TUNELAB_DEVICE=cpu, or serve without --quantize int8.")
    if "fbgemm" not in torch.backends.quantized.supported_engines \
            and "x86" not in torch.backends.quantized.supported_engines:
        raise ModelError("int8 quantization needs torch's fbgemm kernels (an x86 CPU build of torch); "
                         f"this torch has: {', '.join(torch.backends.quantized.supported_engines)}.")


def quantize_int8(model: nn.Module) -> int:
    """Replace every fp32 `nn.Linear` of `model` (on the CPU) by an `Int8Linear` and every
    `nn.Embedding` by an `Int8Embedding`, in place; returns how many Linear layers. An LM head tied
    to the input embeddings (small models) gets an int8 copy of its own."""
    targets = [(parent, name, child) for parent in model.modules()
               for name, child in parent.named_children() if type(child) is nn.Linear]
    for _, name, child in targets:
        if child.weight.device.type != "cpu":
            check_int8_device(child.weight.device)
        if child.weight.dtype != torch.float32:
            raise ModelError(f"int8 quantization starts from fp32 weights; layer '{name}' is {child.weight.dtype}: "
                             f"load the model in fp32.")
    embeddings = [(parent, name, child) for parent in model.modules()
                  for name, child in parent.named_children() if type(child) is nn.Embedding]
    with torch.no_grad():
        for parent, name, child in targets:
            setattr(parent, name, Int8Linear.from_linear(child))
        for parent, name, child in embeddings:
            setattr(parent, name, Int8Embedding(child))
        # What stays in fp32 (embeddings, norms) may still view the memory-mapped checkpoint, which
        # would then keep every page of it resident: give it memory of its own.
        for module in model.modules():
            for t in [*module._parameters.values(), *module._buffers.values()]:
                if t is not None and not isinstance(module, (Int8Linear, Int8Embedding)):
                    t.data = t.data.clone()
    return len(targets)


def is_int8(model: nn.Module) -> bool:
    return any(isinstance(m, (Int8Linear, Int8Embedding)) for m in model.modules())


def weight_bytes(model: nn.Module) -> int:
    """Bytes of a model's weights: its parameters and buffers (each tensor once, tied ones too) plus
    the packed int8 weights of its Int8Linear layers."""
    seen: set[int] = set()
    total = 0
    for t in [*model.parameters(), *model.buffers()]:
        if t.data_ptr() not in seen:
            seen.add(t.data_ptr())
            total += t.nbytes
    return total + sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, Int8Linear))
