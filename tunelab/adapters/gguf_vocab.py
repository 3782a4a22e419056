"""A Hugging Face byte-level BPE tokenizer (GPT-2 style) as GGUF tokenizer metadata: the tokens in
id order, their types, the merges, the special ids, whether BOS/EOS are added, the chat template.

llama.cpp rebuilds the tokenizer from these keys alone, so anything it could not reproduce (a
normalizer, another pre-tokenizer, byte fallback) is refused with the part named, never dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tunelab.adapters.errors import AdapterError

# tokenizer.ggml.token_type values (gguf.TokenType), written as plain ints
NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5
BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}


@dataclass
class GGUFVocab:
    tokens: list[str]
    token_types: list[int]
    merges: list[str]  # "left right", best first
    pre: str  # llama.cpp's name for the pre-tokenizer: "gpt-2" or "smollm" (digits split first)
    bos_id: int | None
    eos_id: int | None
    unk_id: int | None
    pad_id: int | None
    add_bos: bool
    add_eos: bool
    chat_template: str | None
    eot_id: int | None = None  # the end-of-turn token, when the chat template has one


def gguf_vocab(tokenizer, vocab_size: int, chat_template: str | None, where: str) -> GGUFVocab:
    """The GGUF form of `tokenizer` for a model with `vocab_size` embedding rows (ids the tokenizer
    lacks become unused "[PADn]" tokens, as llama.cpp's own converter pads). `where` names the model
    in errors."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise AdapterError(f"{where}: GGUF export needs a fast (tokenizers) tokenizer; this one is "
                           f"{type(tokenizer).__name__}.")
    spec = json.loads(backend.to_str())
    pre = _check_byte_level_bpe(spec, where)
    vocab = tokenizer.get_vocab()
    if max(vocab.values()) >= vocab_size:
        raise AdapterError(f"{where}: the tokenizer has ids up to {max(vocab.values())} but the model embeds only "
                           f"{vocab_size} tokens.")
    by_id = {i: tok for tok, i in vocab.items()}
    added = tokenizer.added_tokens_decoder  # id -> AddedToken
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(UNUSED)
        elif i in added:
            tokens.append(by_id[i])
            types.append(CONTROL if added[i].special else USER_DEFINED)
        else:
            tokens.append(by_id[i])
            types.append(NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"].get("merges") or []]
    add_bos, add_eos = _added_specials(tokenizer)
    return GGUFVocab(
        tokens=tokens, token_types=types, merges=merges, pre=pre,
        bos_id=tokenizer.bos_token_id, eos_id=tokenizer.eos_token_id,
        unk_id=tokenizer.unk_token_id, pad_id=tokenizer.pad_token_id,
        add_bos=add_bos, add_eos=add_eos, chat_template=chat_template,
    )


def _check_byte_level_bpe(spec: dict, where: str) -> str:
    """The llama.cpp pre-tokenizer name for tokenizer.json `spec`, or a clear refusal."""
    model = spec.get("model") or {}
    if model.get("type") != "BPE" or model.get("byte_fallback") or model.get("continuing_subword_prefix") or \
            model.get("end_of_word_suffix"):
        raise AdapterError(f"{where}: GGUF export supports byte-level BPE tokenizers (GPT-2 style); this one's model "
                           f"is {_brief(model)}.")
    if spec.get("normalizer") is not None:
        raise AdapterError(f"{where}: GGUF export cannot carry the tokenizer's normalizer {_brief(spec['normalizer'])}; "
                           "llama.cpp's GPT-2 style tokenizer has none.")
    if (spec.get("decoder") or {}).get("type") != "ByteLevel":
        raise AdapterError(f"{where}: GGUF export needs a ByteLevel decoder; this tokenizer's is "
                           f"{_brief(spec.get('decoder'))}.")
    pre = spec.get("pre_tokenizer") or {}
    if _is_byte_level(pre):
        return "gpt-2"  # llama.cpp's spelling: it refuses a file that says "gpt2" (that is the model key)
    steps = pre.get("pretokenizers") or []
    if pre.get("type") == "Sequence" and len(steps) == 2 and steps[0] == {"type": "Digits", "individual_digits": True} \
            and _is_byte_level(steps[1]):
        return "smollm"  # llama.cpp's name for "each digit alone, then GPT-2's split"
    raise AdapterError(f"{where}: GGUF export supports GPT-2's byte-level pre-tokenizer (optionally after splitting "
                       f"digits); this tokenizer's is {_brief(pre)}.")


def _is_byte_level(step: dict) -> bool:
    return all(step.get(k) == v for k, v in BYTE_LEVEL.items())


def _brief(part) -> str:
    text = json.dumps(part)
    return text if len(text) <= 160 else text[:157] + "..."


def _added_specials(tokenizer) -> tuple[bool, bool]:
    """Whether encoding a text adds BOS in front / EOS behind (what the post-processor does)."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    add_bos = bos is not None and full[:1] == [bos] and plain[:1] != [bos]
    add_eos = eos is not None and full[-1:] == [eos] and plain[-1:] != [eos]
    return add_bos, add_eos


def write_vocab(writer, vocab: GGUFVocab) -> None:
    """Add `vocab`'s keys to a gguf.GGUFWriter."""
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(vocab.pre)
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.token_types)
    writer.add_token_merges(vocab.merges)
    for token_id, add in ((vocab.bos_id, writer.add_bos_token_id), (vocab.eos_id, writer.add_eos_token_id),
                          (vocab.unk_id, writer.add_unk_token_id), (vocab.pad_id, writer.add_pad_token_id)):
        if token_id is not None:
            add(token_id)
    writer.add_add_bos_token(vocab.add_bos)
    writer.add_add_eos_token(vocab.add_eos)
    if vocab.eot_id is not None:
        writer.add_eot_token_id(vocab.eot_id)
    if vocab.chat_template:
        writer.add_chat_template(vocab.chat_template)
