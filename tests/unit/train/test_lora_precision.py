import torch
from peft import LoraConfig, get_peft_model

from tunelab.train.model_setup import lora_branch_fp32


class One(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(64, 64)

    def forward(self, x):
        return self.proj(x)


def small_delta_model():
    torch.manual_seed(0)
    model = get_peft_model(One(), LoraConfig(r=4, lora_alpha=4, target_modules=["proj"]))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.fill_(1e-4)  # an early-training-sized LoRA delta (B starts at zero)
    return model


def test_small_lora_delta_survives_bf16_autocast():
    x = torch.randn(8, 64)
    model = small_delta_model()
    with torch.no_grad():
        exact = model(x) - model.get_base_model().proj.base_layer(x)  # fp32 delta
        with torch.autocast("cpu", dtype=torch.bfloat16):
            with model.disable_adapter():
                base_bf16 = model(x)
            lost = model(x) - base_bf16
        assert lora_branch_fp32(model) == 1
        with torch.autocast("cpu", dtype=torch.bfloat16):
            with model.disable_adapter():
                base_wide = model(x)
            kept = model(x) - base_wide
    rel = lambda d: float((d.float() - exact).norm() / exact.norm())  # noqa: E731
    assert kept.dtype == torch.float32
    assert rel(kept) < 0.05  # the delta is there, to bf16-matmul accuracy of the branch
    assert rel(lost) > 0.5  # without the fix most of it is rounded away


def test_the_fused_optimizer_takes_plain_tensors_and_steps_as_the_loop_does():
    from tunelab.train.loop import fusable

    params = [p for p in small_delta_model().parameters() if p.requires_grad]
    assert fusable(params) and not fusable([]) and not fusable([torch.zeros(2, dtype=torch.long)])
    twin = [torch.nn.Parameter(p.detach().clone()) for p in params]
    for p in params + twin:
        p.grad = torch.full_like(p, 0.5)
    torch.optim.AdamW(params, lr=1e-2, fused=True).step()
    torch.optim.AdamW(twin, lr=1e-2).step()
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(params, twin))  # the same update
