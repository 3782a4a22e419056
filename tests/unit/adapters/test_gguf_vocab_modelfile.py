"""The GGUF tokenizer metadata (padding, pre-tokenizers llama.cpp knows, refusals) and the
Ollama Modelfile's template translation, checked on the tiny model's tokenizer."""

from __future__ import annotations

import copy

import pytest

from tunelab.adapters import AdapterError
from tunelab.adapters.gguf_vocab import CONTROL, NORMAL, UNUSED, gguf_vocab
from tunelab.adapters.ollama_modelfile import ChatML, as_chatml, modelfile_text
from tunelab.models.chat_templates import CHATML, LLAMA3, ZEPHYR

# SmolLM2-135M-Instruct's own template: ChatML, with a system message of its own when none is given.
SMOLLM2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_vocab_pads_to_the_embedding_rows(tok):
    v = gguf_vocab(tok, len(tok) + 3, CHATML, "Model 't'")
    assert v.tokens[-3:] == [f"[PAD{i}]" for i in range(len(tok), len(tok) + 3)]
    assert v.token_types[-3:] == [UNUSED] * 3
    assert v.token_types[tok.convert_tokens_to_ids("<|im_end|>")] == CONTROL
    assert v.token_types[tok.convert_tokens_to_ids("Ġthe")] == NORMAL
    with pytest.raises(AdapterError, match="Model 't': the tokenizer has ids up to 399 but the model embeds only 300"):
        gguf_vocab(tok, 300, CHATML, "Model 't'")


def test_vocab_pre_tokenizers(tok):
    from tokenizers import normalizers, pre_tokenizers

    digits = copy.deepcopy(tok)
    digits.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
    assert gguf_vocab(digits, len(tok), None, "Model 't'").pre == "smollm"  # SmolLM's own: digits split first
    spaced = copy.deepcopy(tok)
    spaced.backend_tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    with pytest.raises(AdapterError, match="Model 't': GGUF export supports GPT-2's byte-level pre-tokenizer"):
        gguf_vocab(spaced, len(tok), None, "Model 't'")
    normalized = copy.deepcopy(tok)
    normalized.backend_tokenizer.normalizer = normalizers.NFC()
    with pytest.raises(AdapterError, match='cannot carry the tokenizer\'s normalizer {"type": "NFC"}'):
        gguf_vocab(normalized, len(tok), None, "Model 't'")


def test_chatml_templates_translate(tok):
    assert as_chatml(tok, CHATML) == ChatML(default_system=None)
    smol = as_chatml(tok, SMOLLM2)
    assert smol == ChatML(default_system="You are a helpful AI assistant named SmolLM, trained by Hugging Face")
    text = modelfile_text("smol.gguf", smol, eos_token="<|im_end|>", title="t", has_template=True)
    assert 'SYSTEM """You are a helpful AI assistant named SmolLM, trained by Hugging Face"""\n' in text
    assert text.count("PARAMETER stop") == 2


def test_other_templates_get_no_template_line(tok):
    no_newline = CHATML.replace("'<|im_end|>' + '\n'", "'<|im_end|>'")
    assert no_newline != CHATML
    for template in (ZEPHYR, LLAMA3, no_newline, None):
        assert as_chatml(tok, template) is None
    text = modelfile_text("z.gguf", None, eos_token="<|im_end|>", title="t", has_template=True)
    assert text == ("# Ollama Modelfile for z.gguf: t.\n# ollama create NAME -f z.Modelfile\nFROM ./z.gguf\n"
                    "# No TEMPLATE: the model's chat template is not ChatML-style, so none is translated here; "
                    "Ollama\n# uses what it can find from the chat template stored in the GGUF file.\n"
                    'PARAMETER stop "<|im_end|>"\n')
    assert "chat template is missing" in modelfile_text("z.gguf", None, eos_token=None, title="t", has_template=False)
