import pytest

from tunelab.models.catalogue import Catalogue
from tunelab.models.chat_templates import render_chat
from tunelab.models.errors import ChatTemplateError
from tunelab.models.loader import load_model

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


def test_model_template_is_used(tiny):
    text = tiny.chat_prompt(MESSAGES)
    assert text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"


def test_named_template_overrides(tiny):
    text = render_chat(tiny.tokenizer, MESSAGES, "zephyr")
    assert text.startswith("<|system|>\nBe brief.<|im_end|>\n<|user|>\nHi")
    assert text.endswith("<|assistant|>\n")


def test_model_without_template_gets_a_clear_error(settings, store, tiny_model_no_template_dir):
    Catalogue(store).add("nt", str(tiny_model_no_template_dir))
    loaded = load_model("nt", settings, store=store)
    with pytest.raises(ChatTemplateError, match="nt has no chat template.*--chat-template"):
        loaded.chat_prompt(MESSAGES)
    # ...and works once a template is named, at call time or in the catalogue
    assert loaded.chat_prompt(MESSAGES, "chatml").startswith("<|im_start|>system")
    Catalogue(store).add("nt2", str(tiny_model_no_template_dir), chat_template="chatml")
    assert load_model("nt2", settings, store=store).chat_prompt(MESSAGES).startswith("<|im_start|>system")
