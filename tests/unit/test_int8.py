"""Int8 inference (`tunelab.models.int8`) on the tiny model: every Linear layer really holds int8
(types, values, bytes), logits and a LoRA adapter's effect stay close to fp32's, a batch's rows are
quantized each on its own (tests/unit/serve/test_engine_int8.py: the batching engine), merging is
refused, and the bad cases (another device, bf16, torch without fbgemm) say what to do.
Tolerances come from measured values: logits differ from fp32 by at most 1.6% of their range."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tunelab.models.catalogue import Catalogue
from tunelab.models.errors import ModelError
from tunelab.models.int8 import WEIGHT_MAX, Int8Embedding, Int8Linear, check_int8_device, is_int8, weight_bytes
from tunelab.models.loader import load_model

PROMPTS = ["The quick brown fox", "Wireless earbuds with noise cancelling", "Hello!",
           "Stainless steel water bottle, 750 ml, keeps drinks cold"]


@pytest.fixture
def load_tiny(settings, store, tiny_model_dir):
    Catalogue(store).add("tiny", str(tiny_model_dir))
    return lambda **kw: load_model("tiny", settings, store=store, **kw)


@pytest.fixture(scope="module")
def lora_dir(tmp_path_factory, tiny_model_dir):
    """A LoRA adapter with random A and B (so it changes the output), saved from the fp32 model."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    out = tmp_path_factory.mktemp("int8-lora") / "a"
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir), cfg).save_pretrained(out)
    return out


def logits(model, prompt: str, tokenizer) -> torch.Tensor:
    with torch.no_grad():
        return model(**tokenizer(prompt, return_tensors="pt")).logits[0]


def linears(model) -> dict[str, nn.Module]:
    return {n: m for n, m in model.named_modules() if isinstance(m, (nn.Linear, Int8Linear))}


def test_every_linear_layer_and_the_embeddings_hold_int8_in_a_quarter_of_the_bytes(load_tiny):
    fp, q = load_tiny(), load_tiny(quantization="int8")
    assert q.quantization == "int8" and fp.quantization == "none" and is_int8(q.model) and not is_int8(fp.model)
    fp_layers, q_layers = linears(fp.model), linears(q.model)
    assert fp_layers.keys() == q_layers.keys() and len(q_layers) == 2 * 7 + 1  # 7 per block, and the LM head
    for name, layer in q_layers.items():
        assert type(layer) is Int8Linear, name
        w8 = layer.int8_weight()
        w32 = fp_layers[name].weight.detach()
        assert w8.dtype == torch.int8 and w8.shape == w32.shape
        assert int(w8.abs().max()) == WEIGHT_MAX  # every row uses the whole range: its scale is its max
        assert (w8.abs().amax(dim=1) == WEIGHT_MAX).all()
        # round to nearest: each weight within half a step of its channel's scale
        err = (layer.dequantized_weight() - w32).abs()
        assert (err <= layer.weight_scale[:, None] / 2 + 1e-7).all(), name
        assert layer.nbytes == w32.numel() + 4 * w32.shape[0]  # int8 values + one fp32 scale per row
    emb_fp, emb_q = fp.model.get_input_embeddings(), q.model.get_input_embeddings()
    assert type(emb_q) is Int8Embedding and emb_q.qweight.dtype == torch.int8
    ids = torch.arange(emb_fp.num_embeddings)
    step = emb_q.weight_scale[:, None]
    assert ((emb_q(ids) - emb_fp(ids).detach()).abs() <= step / 2 + 1e-7).all()  # each row within half a step
    saved = sum(4 * m.weight.numel() for m in fp_layers.values()) - sum(m.nbytes for m in q_layers.values())
    saved += 3 * emb_fp.weight.numel() - 4 * emb_fp.num_embeddings  # fp32 table -> int8 table + row scales
    assert weight_bytes(fp.model) - weight_bytes(q.model) == saved
    assert sum(m.nbytes for m in q_layers.values()) < 0.27 * sum(4 * m.weight.numel() for m in fp_layers.values())


def test_logits_stay_close_to_fp32(load_tiny):
    fp, q = load_tiny(), load_tiny(quantization="int8")
    for prompt in PROMPTS:
        a, b = logits(fp.model, prompt, fp.tokenizer), logits(q.model, prompt, fp.tokenizer)
        spread = float(a.max() - a.min())
        assert float((a - b).abs().max()) < 0.04 * spread, prompt  # measured: 0.010 to 0.016
        assert float((a - b).abs().max()) > 0  # it really is another computation


def test_rows_of_a_batch_are_quantized_each_on_its_own():
    torch.manual_seed(0)
    linear = nn.Linear(64, 48)
    layer = Int8Linear.from_linear(linear)
    x = torch.randn(5, 64) * torch.tensor([[1.0], [300.0], [0.001], [7.0], [1.0]])
    x[4, 3] = 80.0  # one outlier in one row
    together = layer(x)
    alone = torch.cat([layer(x[i:i + 1]) for i in range(len(x))])
    assert torch.equal(together, alone)  # bit for bit: a row never sees the other rows' range
    exact = linear(x).detach()
    rel = (together - exact).norm(dim=1) / exact.norm(dim=1)
    assert (rel < 0.04).all(), rel  # measured: 0.010 to 0.019 (the outlier row the most)
    assert layer(x.view(5, 1, 64)).shape == (5, 1, 48)


def test_lora_adapter_changes_an_int8_base_as_it_changes_fp32(load_tiny, lora_dir):
    from tunelab.models.int8_lora import Int8LoraLinear
    from tunelab.models.peft_loading import attach_adapters

    fp, q = load_tiny(), load_tiny(quantization="int8")
    base_fp = {p: logits(fp.model, p, fp.tokenizer) for p in PROMPTS}
    base_q = {p: logits(q.model, p, fp.tokenizer) for p in PROMPTS}
    peft_fp, peft_q = attach_adapters(fp, {"a": lora_dir}), attach_adapters(q, {"a": lora_dir})
    wrapped = [m for m in peft_q.modules() if isinstance(m, Int8LoraLinear)]
    assert len(wrapped) == 2 * 3  # q_proj, v_proj, down_proj of each block
    for m in wrapped:
        assert isinstance(m.base_layer, Int8Linear) and m.lora_A["a"].weight.dtype == torch.float32
    for p in PROMPTS:
        delta_fp = logits(peft_fp, p, fp.tokenizer) - base_fp[p]
        delta_q = logits(peft_q, p, fp.tokenizer) - base_q[p]
        size = float(delta_fp.abs().max())
        assert size > 0.1  # the adapter really changes the output
        assert float((delta_fp - delta_q).abs().max()) < 0.06 * size, p  # measured: 0.020 to 0.031 of it


def test_merging_into_int8_is_refused_and_unloading_restores_the_int8_base(load_tiny, lora_dir):
    from tunelab.models.peft_loading import attach_adapters

    q = load_tiny(quantization="int8")
    before = logits(q.model, PROMPTS[0], q.tokenizer)
    peft_q = attach_adapters(q, {"a": lora_dir})
    with pytest.raises(ModelError, match="merge it on the fp32 model"):
        peft_q.merge_and_unload()
    plain = peft_q.unload()
    assert sum(isinstance(m, Int8Linear) for m in plain.modules()) == 15
    assert torch.equal(logits(plain, PROMPTS[0], q.tokenizer), before)


def test_int8_refuses_another_device_bf16_and_a_torch_without_fbgemm(load_tiny, settings, store, monkeypatch):
    with pytest.raises(ModelError, match="runs on the CPU.*TUNELAB_DEVICE=cpu"):
        check_int8_device(torch.device("cuda"))
    with pytest.raises(ModelError, match="fp32 activations, not torch.bfloat16.*precision fp32"):
        load_tiny(quantization="int8", dtype=torch.bfloat16)
    with pytest.raises(ModelError, match="Unknown quantization 'int4'.*none, nf4 or int8"):
        load_tiny(quantization="int4")
    monkeypatch.setattr(type(torch.backends.quantized), "supported_engines", ["qnnpack", "none"])
    with pytest.raises(ModelError, match="needs torch's fbgemm kernels.*this torch has: qnnpack, none"):
        load_tiny(quantization="int8")


def test_quantize_setting_and_serve_flag_reach_the_server(home, monkeypatch):
    import typer
    import uvicorn
    from typer.testing import CliRunner

    import tunelab.serve.app
    import tunelab.web
    from tunelab.cli import common
    from tunelab.cli.serve import serve
    from tunelab.settings import Settings

    monkeypatch.setenv("TUNELAB_QUANTIZE", "int8")
    assert Settings().quantize == "int8"
    monkeypatch.setenv("TUNELAB_QUANTIZE", "int4")
    with pytest.raises(ValueError, match="quantize"):
        Settings()
    monkeypatch.delenv("TUNELAB_QUANTIZE")
    assert Settings().quantize == "none"

    seen = []
    monkeypatch.setattr(tunelab.serve.app, "create_app", lambda cfg, **kw: seen.append(cfg.quantize) or "app")
    monkeypatch.setattr(tunelab.web, "add_dashboard", lambda app: app)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    app = typer.Typer()
    app.command()(serve)
    runner = CliRunner()
    result = runner.invoke(app, ["--quantize", "int8", "--port", "1"])
    assert result.exit_code == 0, result.output
    assert "int8 weights" in result.output
    assert runner.invoke(app, ["--port", "1"]).exit_code == 0
    assert seen == ["int8", "none"]
    bad = runner.invoke(app, ["--quantize", "int4", "--port", "1"])
    assert bad.exit_code == 2 and "int4" in bad.output
    monkeypatch.setenv("TUNELAB_DEVICE", "cuda")
    common.settings.cache_clear()
    gpu = runner.invoke(app, ["--quantize", "int8", "--port", "1"])
    assert gpu.exit_code == 2 and "runs on the CPU" in gpu.output and "Traceback" not in gpu.output
    assert seen == ["int8", "none"]  # refused before the server was built
