import copy

import pytest
import torch
from peft import LoraConfig, get_peft_model

from tunelab.train.lora_fused import fuse_lora_branches
from tunelab.train.model_setup import lora_branch_fp32


class Two(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.up = torch.nn.Linear(32, 48, bias=True)
        self.down = torch.nn.Linear(48, 32, bias=False)

    def forward(self, x):
        return self.down(torch.nn.functional.silu(self.up(x)))


def twins(**lora):
    torch.manual_seed(0)
    model = get_peft_model(Two(), LoraConfig(r=4, lora_alpha=8, target_modules=["up", "down"], **lora))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)  # B starts at zero: give the branch something to carry
    return model, copy.deepcopy(model)


def grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


def run(model, x):
    model.zero_grad(set_to_none=True)
    out = model(x)
    (out ** 2).sum().backward()
    return out.detach(), grads(model)


def test_fused_forward_and_gradients_match_peft():
    plain, fused = twins()
    assert fuse_lora_branches(fused) == 2
    x = torch.randn(2, 5, 32)
    ref_out, ref_grads = run(plain, x)
    out, got = run(fused, x)
    assert out.shape == ref_out.shape == (2, 5, 32)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-6)
    assert got.keys() == ref_grads.keys() and len(got) == 4  # A and B of both layers
    for name in got:
        torch.testing.assert_close(got[name], ref_grads[name], rtol=1e-5, atol=1e-6)


def test_fused_forward_keeps_the_fp32_branch_under_bf16_autocast():
    plain, fused = twins()
    for m in (plain, fused):
        lora_branch_fp32(m)
    fuse_lora_branches(fused)
    x = torch.randn(4, 32)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        ref, out = plain(x), fused(x)
    assert out.dtype == ref.dtype
    torch.testing.assert_close(out.float(), ref.float(), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("state", ["disabled", "merged", "dora"])
def test_anything_but_the_plain_adapter_takes_peft_forward(state):
    plain, fused = twins(use_dora=state == "dora")
    fuse_lora_branches(fused)
    x = torch.randn(3, 32)
    with torch.no_grad():
        if state == "disabled":
            with plain.disable_adapter(), fused.disable_adapter():
                ref, out = plain(x), fused(x)
            assert torch.equal(out, plain.get_base_model().down.base_layer(
                torch.nn.functional.silu(plain.get_base_model().up.base_layer(x))))
        elif state == "merged":
            plain.merge_adapter()
            fused.merge_adapter()
            ref, out = plain(x), fused(x)
        else:
            ref, out = plain(x), fused(x)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
