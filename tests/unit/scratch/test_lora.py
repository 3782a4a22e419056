"""The scratch LoRA against PEFT on the same weights: outputs and gradients within 1e-5 (one layer,
with dropout too, and the whole tiny model with a PEFT adapter loaded), merge and unmerge, wrapping
by name, and a saved adapter that PEFT loads."""

import json

import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from peft.tuners.lora import Linear as PeftLinear
from scratch_helpers import make_peft_adapter

from tunelab.models.errors import ModelSourceError
from tunelab.scratch.lora import LoRALinear, load_peft_adapter, lora_layers, merge_lora, save_peft_adapter, wrap_lora

TOL = dict(atol=1e-5, rtol=0)


def twin_layers(dropout: float):
    torch.manual_seed(0)
    holder = torch.nn.Sequential()
    holder.add_module("proj", torch.nn.Linear(32, 24, bias=False))
    base = holder.proj
    peft = get_peft_model(holder, LoraConfig(r=4, lora_alpha=8, lora_dropout=dropout, target_modules=["proj"]))
    theirs = peft.base_model.model.proj
    assert isinstance(theirs, PeftLinear)
    torch.nn.init.normal_(theirs.lora_B["default"].weight)  # PEFT starts B at zero too: make it count
    ours = LoRALinear(torch.nn.Linear(32, 24, bias=False), r=4, alpha=8, dropout=dropout)
    with torch.no_grad():
        ours.base.weight.copy_(base.weight)
        ours.A.copy_(theirs.lora_A["default"].weight)
        ours.B.copy_(theirs.lora_B["default"].weight)
    return ours, theirs


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_one_layer_output_and_gradients_match_peft(dropout):
    ours, theirs = twin_layers(dropout)
    ours.train(), theirs.train()
    x = torch.randn(3, 5, 32)
    xo, xt = x.clone().requires_grad_(), x.clone().requires_grad_()
    torch.manual_seed(1)  # the same dropout mask for both
    yo = ours(xo)
    torch.manual_seed(1)
    yt = theirs(xt)
    torch.testing.assert_close(yo, yt, **TOL)
    w = torch.randn_like(yo)
    (yo * w).sum().backward()
    (yt * w).sum().backward()
    torch.testing.assert_close(ours.A.grad, theirs.lora_A["default"].weight.grad, **TOL)
    torch.testing.assert_close(ours.B.grad, theirs.lora_B["default"].weight.grad, **TOL)
    torch.testing.assert_close(xo.grad, xt.grad, **TOL)
    assert ours.base.weight.grad is None  # W is frozen


def test_merge_and_unmerge():
    ours, theirs = twin_layers(0.0)
    x = torch.randn(4, 32)
    w0, before = ours.base.weight.clone(), ours(x)
    ours.merge(), theirs.merge()
    torch.testing.assert_close(ours.base.weight, theirs.base_layer.weight, **TOL)
    torch.testing.assert_close(ours(x), before, **TOL)  # same function, one matmul
    ours.unmerge()
    torch.testing.assert_close(ours.base.weight, w0, atol=1e-6, rtol=0)
    assert not ours.merged and torch.linalg.matrix_rank(ours.delta_weight()) <= 4


def test_whole_model_with_a_peft_adapter_matches_peft(tiny_scratch, tiny_model_dir, peft_adapter_dir, ids):
    from transformers import AutoModelForCausalLM

    folder = peft_adapter_dir
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation="eager")
    theirs = PeftModel.from_pretrained(base, str(folder), is_trainable=True)
    load_peft_adapter(tiny_scratch, folder)
    assert len(lora_layers(tiny_scratch)) == 3 * tiny_scratch.cfg.num_layers
    yo, yt = tiny_scratch(ids), theirs(ids).logits
    torch.testing.assert_close(yo, yt, **TOL)
    target = torch.randint(0, yo.shape[-1], ids.shape)
    torch.nn.functional.cross_entropy(yo.flatten(0, 1), target.flatten()).backward()
    torch.nn.functional.cross_entropy(yt.flatten(0, 1), target.flatten()).backward()
    peft_grads = {n: p.grad for n, p in theirs.named_parameters() if p.requires_grad}
    for name, layer in lora_layers(tiny_scratch).items():
        key = f"base_model.model.model.{name}"
        torch.testing.assert_close(layer.A.grad, peft_grads[f"{key}.lora_A.default.weight"], **TOL)
        torch.testing.assert_close(layer.B.grad, peft_grads[f"{key}.lora_B.default.weight"], **TOL)


def test_wrapping_by_name_list_regex_and_all_linear(tiny_model_dir):
    from tunelab.scratch.model import ScratchLlama

    fresh = lambda: ScratchLlama.from_folder(tiny_model_dir)
    assert wrap_lora(fresh(), ["q_proj", "v_proj"]) == [f"layers.{i}.self_attn.{m}" for i in (0, 1) for m in ("q_proj", "v_proj")]
    assert wrap_lora(fresh(), r"model\.layers\.1\.mlp\..*") == [f"layers.1.mlp.{m}" for m in ("gate_proj", "up_proj", "down_proj")]
    model = fresh()
    x = torch.randint(0, 400, (1, 6))
    before = model(x)
    names = wrap_lora(model, "all-linear", r=8, alpha=16)
    assert len(names) == 7 * 2 and "lm_head" not in names  # 4 attention + 3 MLP projections per block
    torch.testing.assert_close(model(x), before, atol=0, rtol=0)  # B starts at zero: the base model exactly
    from transformers import AutoModelForCausalLM

    peft = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                          LoraConfig(r=8, lora_alpha=16, target_modules="all-linear"))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == peft.get_nb_trainable_parameters()[0]
    with pytest.raises(ValueError, match="matches target_modules"):
        wrap_lora(fresh(), ["nothing_here"])
    with pytest.raises(ValueError, match="LoRA layers already"):
        wrap_lora(model, ["q_proj"])


def test_a_saved_adapter_loads_in_peft_with_the_same_logits(tiny_scratch, tiny_model_dir, tmp_path, ids):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    wrap_lora(tiny_scratch, ["q_proj", "k_proj", "o_proj", "up_proj"], r=2, alpha=5, rslora=True)
    for layer in lora_layers(tiny_scratch).values():
        torch.nn.init.normal_(layer.B, std=0.5)
    folder = save_peft_adapter(tiny_scratch, tmp_path / "mine", base_model="tiny")
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation="eager")
    theirs = PeftModel.from_pretrained(base, str(folder)).eval()
    with torch.no_grad():
        torch.testing.assert_close(tiny_scratch(ids), theirs(ids).logits, **TOL)
        merge_lora(tiny_scratch)  # merged, the same function
        torch.testing.assert_close(tiny_scratch(ids), theirs(ids).logits, **TOL)


def test_adapters_it_cannot_run_are_refused_by_field(tiny_scratch, tiny_model_dir, tmp_path):
    folder = make_peft_adapter(tiny_model_dir, tmp_path / "d")
    cfg = json.loads((folder / "adapter_config.json").read_text())
    (folder / "adapter_config.json").write_text(json.dumps({**cfg, "use_dora": True}))
    with pytest.raises(ModelSourceError, match="use_dora"):
        load_peft_adapter(tiny_scratch, folder)
    other = make_peft_adapter(tiny_model_dir, tmp_path / "r", r=8)
    cfg = json.loads((other / "adapter_config.json").read_text())
    (other / "adapter_config.json").write_text(json.dumps({**cfg, "r": 4}))  # the file's tensors have rank 8
    with pytest.raises(ModelSourceError, match=r"lora_A.weight has shape \(8, 64\)"):
        load_peft_adapter(tiny_scratch, other)
