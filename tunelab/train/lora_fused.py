"""A cheaper LoRA forward for training: the scaling on the rank-r activations, the sum in the GEMM.

PEFT computes a LoRA linear layer as `base(x) + B(A(x)) * scaling`: the scaling multiplies the
(tokens, out_features) delta, the sum allocates a second output of that size, and autograd runs
both again backwards. Over the 210 adapted layers of SmolLM2 that is ~5% of an fp32 training step.
`fuse_lora_branches(model)` gives each plain LoRA linear layer a forward that multiplies the
(tokens, r) activations instead, s * (x A^T), and adds their product with B into the base output in
place, in one `addmm_`: the same sum, one elementwise pass and one allocation fewer per layer and
direction. Anything that is not the single, plain, unmerged adapter (disabled adapters, several
active, a variant such as DoRA, a LoRA bias, per-call arguments) takes PEFT's own forward.
"""

from __future__ import annotations

import torch


def _fused(module, peft_forward):
    def forward(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        names = module.active_adapters
        if args or kwargs or module.disable_adapters or module.merged or len(names) != 1:
            return peft_forward(x, *args, **kwargs)
        name = names[0]
        if name not in module.lora_A or name in module.lora_variant or module.lora_B[name].bias is not None:
            return peft_forward(x, *args, **kwargs)
        flat_x = x.reshape(-1, x.shape[-1])
        lora_a = module.lora_A[name]
        h = lora_a(module.lora_dropout[name](flat_x.to(lora_a.weight.dtype))) * module.scaling[name]
        out = module.base_layer(flat_x)  # a fresh 2-D tensor, and the base's backward does not need it
        dtype = out.dtype
        # the branch's own dtype (fp32 over a bf16 base, see model_setup.lora_branch_fp32), not autocast's;
        # in place: an out-of-place addmm would first copy `out` into its result
        with torch.autocast(x.device.type, enabled=False):
            out = out.to(h.dtype).addmm_(h, module.lora_B[name].weight.t())
        return out.to(dtype).view(*x.shape[:-1], out.shape[-1])
    return forward


def fuse_lora_branches(model) -> int:
    """Switch every plain LoRA linear layer of `model` to the fused forward; returns layers changed.
    Call after `model_setup.lora_branch_fp32` where that applies (this keeps its precision)."""
    from peft.tuners.lora.layer import Linear  # lazy: peft is slow to import

    changed = 0
    for module in model.modules():
        if type(module) is Linear and isinstance(module.base_layer, torch.nn.Linear):
            module.forward = _fused(module, module.forward)
            changed += 1
    return changed
