"""RMSNorm against transformers' LlamaRMSNorm, and what it does: unit root-mean-square before the weight."""

import torch
from transformers.models.llama.modeling_llama import LlamaRMSNorm

from tunelab.scratch.rmsnorm import RMSNorm


def test_matches_transformers_in_fp32_and_bf16():
    torch.manual_seed(0)
    ours, theirs = RMSNorm(64, eps=1e-5), LlamaRMSNorm(64, eps=1e-5)
    with torch.no_grad():
        ours.weight.normal_()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 5, 64) * 3  # (batch, seq, dim)
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-6, rtol=0)
    ours.bfloat16(), theirs.bfloat16()
    assert torch.equal(ours(x.bfloat16()), theirs(x.bfloat16()))


def test_output_has_unit_rms_with_a_weight_of_ones():
    x = torch.randn(3, 7, 32) * 10 + 4
    y = RMSNorm(32, eps=0.0)(x)
    torch.testing.assert_close(y.pow(2).mean(-1), torch.ones(3, 7))
    assert y.shape == x.shape
