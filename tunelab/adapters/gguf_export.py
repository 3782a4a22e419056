"""Export as one GGUF file for llama.cpp and Ollama: a Llama-architecture model (a LoRA adapter
merged into its base, or a catalogue model as it is) with its tokenizer and chat template in the
metadata, and an Ollama Modelfile beside it (`NAME.gguf` -> `NAME.Modelfile`).

Tensors get llama.cpp's names (token_embd, blk.N.attn_q, ..., output_norm, output; no output
when the embeddings are tied), the rows of Q and K are permuted into the pair layout llama.cpp's
rotary embedding uses, 2-D weights are stored in f16 or q8_0 and the norms in f32. Both files are
written under temporary names and linked into place, so a failed export leaves nothing behind and
an existing file is never replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tunelab.adapters.errors import AdapterError
from tunelab.adapters.export import load_base, lora_info, merge_into_base, staged_file
from tunelab.adapters.gguf_vocab import GGUFVocab, gguf_vocab, write_vocab
from tunelab.adapters.ollama_modelfile import IM_END, as_chatml, modelfile_text
from tunelab.adapters.registry import AdapterInfo, AdapterRegistry
from tunelab.models.catalogue import Catalogue, ModelSpec
from tunelab.models.chat_templates import BUILTIN_TEMPLATES
from tunelab.settings import Settings
from tunelab.store import Store

GGUF_QUANTS = ("q8_0", "f16")
_LAYER_KEY = re.compile(r"^model\.layers\.(\d+)\.(.+)\.weight$")


@dataclass(frozen=True)
class GGUFExport:
    path: Path
    modelfile: Path
    quant: str
    size_bytes: int
    tensors: int
    chatml: bool  # the Modelfile carries a translated TEMPLATE


def modelfile_path(gguf_file: Path) -> Path:
    return gguf_file.with_name(gguf_file.name.removesuffix(".gguf") + ".Modelfile")


def export_gguf(registry: AdapterRegistry, settings: Settings, store: Store, name: str, file: str | Path,
                quant: str = "q8_0") -> GGUFExport:
    """Write adapter `name` merged into its base (or, when no adapter has that name, catalogue
    model `name`) to GGUF `file` in `quant` (q8_0 or f16), with `NAME.Modelfile` beside it."""
    if quant not in GGUF_QUANTS:
        raise AdapterError(f"GGUF quantization '{quant}' is not one of: {', '.join(GGUF_QUANTS)}.")
    out = Path(file).expanduser().resolve()
    if out.suffix != ".gguf":
        raise AdapterError(f"{out}: a GGUF file name must end in .gguf.")
    modelfile = modelfile_path(out)
    for taken in (out, modelfile):
        if taken.exists():
            raise AdapterError(f"{taken} already exists; choose another file name or remove it first.")
    info, spec = _source(registry, store, name)
    where = f"Model '{spec.name}'"
    check_llama(_config(spec, settings), where)  # before the minutes a large model takes to load
    if info is not None:
        loaded, model = merge_into_base(info, spec, settings, store)
        title = f"LoRA adapter '{info.name}' merged into base model '{spec.name}', exported by TuneLab"
    else:
        loaded = load_base(spec, settings, store)
        model, title = loaded.model, f"model '{spec.name}', exported by TuneLab"
    tokenizer = loaded.tokenizer
    template = _chat_template(tokenizer, spec)
    chat = as_chatml(tokenizer, template)
    vocab = gguf_vocab(tokenizer, model.config.vocab_size, template, where)
    if chat is not None:
        vocab.eot_id = tokenizer.convert_tokens_to_ids(IM_END)
    text = modelfile_text(out.name, chat, eos_token=tokenizer.eos_token, title=title, has_template=bool(template))
    out.parent.mkdir(parents=True, exist_ok=True)
    with staged_file(modelfile) as tmp_modelfile, staged_file(out) as tmp_gguf:
        count = write_gguf(tmp_gguf, model, vocab, quant, name=name, description=title)
        tmp_modelfile.write_text(text, encoding="utf-8")
    return GGUFExport(path=out, modelfile=modelfile, quant=quant, size_bytes=out.stat().st_size, tensors=count,
                      chatml=chat is not None)


def _source(registry: AdapterRegistry, store: Store, name: str) -> tuple[AdapterInfo | None, ModelSpec]:
    """(adapter, its base) for an adapter name; (None, the model) for a catalogue model name."""
    catalogue = Catalogue(store)
    if registry.exists(name):
        info = lora_info(registry, name)
        return info, catalogue.get(info.base_model)
    if name in catalogue.names():
        return None, catalogue.get(name)
    raise AdapterError(f"'{name}' is neither an adapter (known: {', '.join(registry.names()) or 'none'}) nor a "
                       f"catalogue model (known: {', '.join(catalogue.names())}).")


def _config(spec: ModelSpec, settings: Settings):
    from transformers import AutoConfig  # lazy: transformers is slow to import

    from tunelab.models.loader import local_path  # lazy: torch is slow to import

    return AutoConfig.from_pretrained(local_path(spec, settings))


def _chat_template(tokenizer, spec: ModelSpec) -> str | None:
    """The template TuneLab chats with for `spec`: its catalogue override, else the tokenizer's."""
    if spec.chat_template:
        return BUILTIN_TEMPLATES.get(spec.chat_template, spec.chat_template)
    return getattr(tokenizer, "chat_template", None) or None


def check_llama(config, where: str) -> None:
    """Refuse, naming what, a model this converter would write wrongly."""
    arch = (getattr(config, "architectures", None) or [config.__class__.__name__])[0]
    if config.model_type != "llama":
        raise AdapterError(f"{where} is a {arch} model (model_type '{config.model_type}'); GGUF export converts "
                           "the Llama architecture (LlamaForCausalLM) only.")
    rope = getattr(config, "rope_parameters", None) or {}
    problems = [
        f"hidden_act '{config.hidden_act}' (llama.cpp's Llama uses silu)" if config.hidden_act != "silu" else "",
        "attention biases" if getattr(config, "attention_bias", False) else "",
        "MLP biases" if getattr(config, "mlp_bias", False) else "",
        f"rope scaling '{rope.get('rope_type')}'" if rope.get("rope_type", "default") != "default" else "",
    ]
    if any(problems):
        raise AdapterError(f"{where} is a Llama model with {', '.join(p for p in problems if p)}, which this GGUF "
                           "export does not convert.")


def llama_permute(w, n_head: int):
    """Q or K projection rows (numpy, [n_head * head_dim, in]) reordered from the half-split layout
    of transformers' rotary embedding to llama.cpp's interleaved pairs: in each head, rows j and
    j + head_dim/2 become rows 2j and 2j + 1. transformers' GGUF loader undoes exactly this."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_tensor_name(hf_key: str) -> str | None:
    """llama.cpp's name for a LlamaForCausalLM state-dict key (None: no such tensor in GGUF)."""
    import gguf  # lazy: gguf (numpy) is only needed for an export

    T, names = gguf.MODEL_TENSOR, gguf.TENSOR_NAMES

    top = {"model.embed_tokens.weight": T.TOKEN_EMBD, "model.norm.weight": T.OUTPUT_NORM, "lm_head.weight": T.OUTPUT}
    if hf_key in top:
        return names[top[hf_key]] + ".weight"
    match = _LAYER_KEY.match(hf_key)
    layer = {"self_attn.q_proj": T.ATTN_Q, "self_attn.k_proj": T.ATTN_K, "self_attn.v_proj": T.ATTN_V,
             "self_attn.o_proj": T.ATTN_OUT, "mlp.gate_proj": T.FFN_GATE, "mlp.up_proj": T.FFN_UP,
             "mlp.down_proj": T.FFN_DOWN, "input_layernorm": T.ATTN_NORM, "post_attention_layernorm": T.FFN_NORM}
    if match and match.group(2) in layer:
        return names[layer[match.group(2)]].format(bid=int(match.group(1))) + ".weight"
    return None


def write_gguf(path: Path, model, vocab: GGUFVocab, quant: str, *, name: str, description: str) -> int:
    """Write `model` (a LlamaForCausalLM) and `vocab` to GGUF `path`; returns the tensor count."""
    import gguf  # lazy: gguf (numpy) is only needed for an export
    import torch  # lazy: torch is slow to import

    cfg = model.config
    qtype = gguf.GGMLQuantizationType.Q8_0 if quant == "q8_0" else gguf.GGMLQuantizationType.F16
    writer = gguf.GGUFWriter(path=None, arch=gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(name)
    writer.add_description(description)
    _write_hparams(writer, cfg)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if quant == "q8_0" else gguf.LlamaFileType.MOSTLY_F16)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    write_vocab(writer, vocab)
    heads, kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads
    count = 0
    for key, tensor in model.state_dict().items():
        if key == "lm_head.weight" and cfg.tie_word_embeddings:
            continue  # llama.cpp reuses token_embd when a file has no output tensor
        target = gguf_tensor_name(key)
        if target is None:
            raise AdapterError(f"GGUF export has no llama.cpp name for tensor '{key}' of this model.")
        w = tensor.detach().to(device="cpu", dtype=torch.float32).numpy()
        if ".attn_q." in target:
            w = llama_permute(w, heads)
        elif ".attn_k." in target:
            w = llama_permute(w, kv_heads)
        data, raw = _encode(gguf, w, qtype)
        writer.add_tensor(target, data, raw_dtype=raw)
        count += 1
    writer.write_header_to_file(path=path)
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return count


def _encode(gguf, w, qtype):
    """(data, raw dtype for the writer): norms stay f32 (as llama.cpp keeps every 1-D tensor), a
    row length Q8_0 blocks do not divide falls back to f16."""
    import numpy as np  # lazy: numpy comes with the export's other heavy imports

    if w.ndim == 1:
        return w.astype(np.float32), None
    block = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q8_0][0]
    if qtype == gguf.GGMLQuantizationType.Q8_0 and w.shape[-1] % block == 0:
        return gguf.quants.quantize(w, qtype), qtype
    return w.astype(np.float16), None


def _write_hparams(writer, cfg) -> None:
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    rope = getattr(cfg, "rope_parameters", None) or {}
    writer.add_vocab_size(cfg.vocab_size)
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(float(rope.get("rope_theta", getattr(cfg, "rope_theta", 10000.0))))
    writer.add_layer_norm_rms_eps(float(cfg.rms_norm_eps))
    if head_dim * cfg.num_attention_heads != cfg.hidden_size:  # llama.cpp assumes this product otherwise
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
