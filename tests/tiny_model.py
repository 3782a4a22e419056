"""A tiny random Llama-architecture model and a BPE tokenizer trained in a second, for fast tests."""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Wireless earbuds with noise cancelling and a charging case.",
    "Stainless steel water bottle, 750 ml, keeps drinks cold for 24 hours.",
    "Men's running shoes, breathable mesh, size 42, colour blue.",
    "What is the capital of France? The capital of France is Paris.",
    "Café crème brûlée — naïve façade, 東京, emoji 🙂 test.",
    "Organic green tea, 100 bags. Kitchen knife set with wooden block.",
    "Hello! How can I help you today? I am looking for a gift.",
] * 20

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def build_tokenizer(vocab_size: int = 400):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from tunelab.models.chat_templates import CHATML

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|im_end|>", pad_token="<|endoftext|>",
        unk_token="<|endoftext|>", chat_template=CHATML,
    )


def build_tiny_model(out: Path, *, chat_template: bool = True, seed: int = 0, tied: bool = False) -> Path:
    """Write a tiny Llama model + tokenizer folder to `out` and return it (`tied`: the output
    projection is the embedding matrix, as in SmolLM2)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer()
    if not chat_template:
        tokenizer.chat_template = None
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=tied,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
