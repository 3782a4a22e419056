"""GGUF export: the file, read back by transformers' own GGUF loader, computes the merged model
(exactly, once its weights are rounded to the file's f16 / q8_0; within the rounding otherwise),
carries the tokenizer and chat template, and comes with an Ollama Modelfile; bad requests are
refused before anything is written."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from lora_helpers import PROMPT
from tiny_model import build_tiny_model

from tunelab.adapters import AdapterError, export_gguf, export_merged
from tunelab.adapters.gguf_export import check_llama, llama_permute
from tunelab.models.catalogue import Catalogue
from tunelab.models.chat_templates import CHATML

PROMPTS = [PROMPT, "What is the capital of France? Paris.", "Café crème brûlée — naïve 東京 🙂 in 2024!"]
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello! How can I help you today?"}]


def logits(model, tokenizer, text: str) -> torch.Tensor:
    with torch.no_grad():
        return model(**tokenizer(text, return_tensors="pt")).logits[0]


def rounded_like_gguf(folder, quant: str):
    """The model in `folder` with every 2-D weight rounded as the file stores it (f16, or gguf's
    own reference Q8_0 quantizer); norms stay f32, as in the file."""
    import gguf
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    q8 = gguf.GGMLQuantizationType.Q8_0
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim == 2:
                w = p.numpy()
                r = w.astype(np.float16).astype(np.float32) if quant == "f16" else \
                    gguf.quants.dequantize(gguf.quants.quantize(w, q8), q8)
                p.copy_(torch.from_numpy(r))
    return model


def load_gguf(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name).eval(),
            AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name))


def fields(path) -> dict:
    from gguf import GGUFReader

    reader = GGUFReader(path)
    return {k: f.contents() for k, f in reader.fields.items()} | {"tensors": {t.name: t for t in reader.tensors}}


# Measured on the tiny model (logits up to ~0.6 in size, std 0.15) over PROMPTS: f16 moves them by
# at most 5.6e-4 and q8_0 by 1.0e-2, against the unrounded merged model; the tolerances allow ~3x.
# Leaving Q and K unpermuted moves them by 3.2e-2, which the exact comparison with the rounded
# model (0.0 measured) catches for both types.
@pytest.mark.parametrize(("quant", "atol"), [("f16", 2e-3), ("q8_0", 3e-2)])
def test_gguf_computes_the_merged_model(two_adapters, settings, store, tmp_path, quant, atol):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    merged_dir = export_merged(two_adapters, settings, store, "a", tmp_path / "merged")
    done = export_gguf(two_adapters, settings, store, "a", tmp_path / "out" / f"shop-{quant}.gguf", quant)
    assert (done.path, done.quant, done.tensors, done.chatml) == (tmp_path / "out" / f"shop-{quant}.gguf", quant, 21, True)
    assert done.size_bytes == done.path.stat().st_size
    assert sorted(p.name for p in done.path.parent.iterdir()) == [f"shop-{quant}.Modelfile", f"shop-{quant}.gguf"]
    model, _ = load_gguf(done.path)
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    merged, rounded = AutoModelForCausalLM.from_pretrained(merged_dir).eval(), rounded_like_gguf(merged_dir, quant)
    for text in PROMPTS:
        got = logits(model, tokenizer, text)
        torch.testing.assert_close(got, logits(rounded, tokenizer, text), atol=1e-5, rtol=0)
        torch.testing.assert_close(got, logits(merged, tokenizer, text), atol=atol, rtol=0)
    tensors = fields(done.path)["tensors"]
    want = "Q8_0" if quant == "q8_0" else "F16"
    assert {t.tensor_type.name for n, t in tensors.items() if "norm" not in n} == {want}
    assert {t.tensor_type.name for n, t in tensors.items() if "norm" in n} == {"F32"}


def test_gguf_carries_the_tokenizer_and_chat_template(two_adapters, settings, store, tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    done = export_gguf(two_adapters, settings, store, "a", tmp_path / "a.gguf")  # q8_0 by default
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    meta = fields(done.path)
    assert (meta["general.architecture"], meta["general.name"], meta["general.file_type"]) == ("llama", "a", 7)
    assert {k.removeprefix("llama."): meta[k] for k in meta if k.startswith("llama.")} == pytest.approx({
        "vocab_size": len(tok), "context_length": 4096, "embedding_length": 64, "block_count": 2,
        "feed_forward_length": 128, "attention.head_count": 4, "attention.head_count_kv": 2,
        "rope.dimension_count": 16, "rope.freq_base": 10000.0, "attention.layer_norm_rms_epsilon": 1e-6})
    assert (meta["tokenizer.ggml.model"], meta["tokenizer.ggml.pre"]) == ("gpt2", "gpt-2")  # names llama.cpp knows
    assert meta["tokenizer.ggml.tokens"] == tok.convert_ids_to_tokens(list(range(len(tok))))
    specials = {tok.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")}
    assert [i for i, t in enumerate(meta["tokenizer.ggml.token_type"]) if t != 1] == sorted(specials)
    assert {meta["tokenizer.ggml.token_type"][i] for i in specials} == {3}  # control
    merges = json.loads(tok.backend_tokenizer.to_str())["model"]["merges"]
    assert meta["tokenizer.ggml.merges"] == [" ".join(m) for m in merges] and len(merges) > 100
    ids = ("bos_token_id", "eos_token_id", "padding_token_id", "eot_token_id")
    assert [meta[f"tokenizer.ggml.{k}"] for k in ids] == [tok.bos_token_id, tok.eos_token_id, tok.pad_token_id,
                                                           tok.convert_tokens_to_ids("<|im_end|>")]
    assert (meta["tokenizer.ggml.add_bos_token"], meta["tokenizer.ggml.add_eos_token"]) == (False, False)
    assert meta["tokenizer.chat_template"] == CHATML

    _, back = load_gguf(done.path)  # transformers' own reading of those keys
    chat = tok.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True)
    assert back.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True) == chat
    for text in [*PROMPTS, chat]:
        assert back(text)["input_ids"] == tok(text)["input_ids"]
        assert back.decode(back(text)["input_ids"]) == text
    assert back(chat)["input_ids"].count(tok.convert_tokens_to_ids("<|im_start|>")) == 3  # whole, not in pieces


def test_modelfile_beside_the_gguf(two_adapters, settings, store, tmp_path):
    done = export_gguf(two_adapters, settings, store, "a", tmp_path / "shop.gguf", "f16")
    assert done.modelfile == tmp_path / "shop.Modelfile"
    assert done.modelfile.read_text() == (
        "# Ollama Modelfile for shop.gguf: LoRA adapter 'a' merged into base model 'tiny', exported by TuneLab.\n"
        "# ollama create NAME -f shop.Modelfile\n"
        "FROM ./shop.gguf\n"
        'TEMPLATE """{{- range .Messages }}<|im_start|>{{ .Role }}\n'
        "{{ .Content }}<|im_end|>\n"
        '{{ end }}<|im_start|>assistant\n"""\n'
        'PARAMETER stop "<|im_end|>"\n'
        'PARAMETER stop "<|im_start|>"\n'
    )


def test_a_catalogue_model_exports_as_it_is_with_tied_embeddings(registry, settings, store, tmp_path):
    """No adapter of that name: the catalogue model itself. Tied embeddings: no output tensor."""
    folder = build_tiny_model(tmp_path / "tied", tied=True, seed=3)
    Catalogue(store).add("tied", str(folder))
    done = export_gguf(registry, settings, store, "tied", tmp_path / "tied.gguf", "f16")
    names = set(fields(done.path)["tensors"])
    assert "token_embd.weight" in names and "output.weight" not in names and len(names) == done.tensors == 20
    model, tokenizer = load_gguf(done.path)
    assert model.config.tie_word_embeddings
    rounded = rounded_like_gguf(folder, "f16")
    torch.testing.assert_close(logits(model, tokenizer, PROMPT), logits(rounded, tokenizer, PROMPT), atol=1e-5, rtol=0)
    assert "model 'tied', exported by TuneLab" in done.modelfile.read_text()


def test_permutation_is_the_inverse_of_transformers_gguf_loader():
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    unpermute = LlamaTensorProcessor()._reverse_permute_weights
    w = np.arange(8 * 16 * 3, dtype=np.float32).reshape(8 * 16, 3)  # 8 heads of 16 rows
    for heads in (8, 2):
        permuted = llama_permute(w, heads)
        assert not np.array_equal(permuted, w)
        np.testing.assert_array_equal(unpermute(permuted, heads, heads), w)
    head = llama_permute(w, 8)[:16, 0] / 3  # rows j and j + 8 of a head become neighbours
    assert head.tolist() == [0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15]


def test_refusals_write_nothing(two_adapters, settings, store, tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    taken = tmp_path / "taken.gguf"
    taken.write_text("mine")
    with pytest.raises(AdapterError, match="taken.gguf already exists; choose another file name"):
        export_gguf(two_adapters, settings, store, "a", taken)
    (tmp_path / "other.Modelfile").write_text("mine too")
    with pytest.raises(AdapterError, match="other.Modelfile already exists"):
        export_gguf(two_adapters, settings, store, "a", tmp_path / "other.gguf")
    with pytest.raises(AdapterError, match="must end in .gguf"):
        export_gguf(two_adapters, settings, store, "a", tmp_path / "model.bin")
    with pytest.raises(AdapterError, match="GGUF quantization 'q4_k' is not one of: q8_0, f16"):
        export_gguf(two_adapters, settings, store, "a", tmp_path / "q.gguf", "q4_k")
    with pytest.raises(AdapterError, match=r"'nope' is neither an adapter \(known: a, b\) nor a catalogue model"):
        export_gguf(two_adapters, settings, store, "nope", tmp_path / "n.gguf")
    qwen = tmp_path / "qwen"
    Qwen2ForCausalLM(Qwen2Config(vocab_size=400, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                 num_attention_heads=4, num_key_value_heads=2)).save_pretrained(qwen)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(qwen)
    Catalogue(store).add("qwen", str(qwen))
    with pytest.raises(AdapterError, match=r"Model 'qwen' is a Qwen2ForCausalLM model \(model_type 'qwen2'\); "
                                           r"GGUF export converts the Llama architecture \(LlamaForCausalLM\) only"):
        export_gguf(two_adapters, settings, store, "qwen", tmp_path / "qwen.gguf")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["other.Modelfile", "taken.gguf"]
    assert taken.read_text() == "mine"


def test_llama_variants_it_would_write_wrongly_are_refused():
    from transformers import LlamaConfig

    check_llama(LlamaConfig(), "Model 'x'")  # plain Llama passes
    with pytest.raises(AdapterError, match="Model 'x' is a Llama model with attention biases, rope scaling 'linear'"):
        check_llama(LlamaConfig(attention_bias=True, rope_parameters={"rope_type": "linear", "factor": 2.0,
                                                                      "rope_theta": 1e4}), "Model 'x'")
