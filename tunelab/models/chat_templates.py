"""Chat templates: the model's own by default, a built-in or user Jinja template when asked.

`render_chat(tokenizer, messages, template)` returns the prompt text for a list of OpenAI-style
messages, ending with the assistant turn's opening so generation continues as the assistant.
"""

from __future__ import annotations

from tunelab.models.errors import ChatTemplateError

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

ZEPHYR = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

LLAMA3 = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

BUILTIN_TEMPLATES: dict[str, str] = {"chatml": CHATML, "zephyr": ZEPHYR, "llama3": LLAMA3}


def resolve_template(tokenizer, override: str | None, model_name: str = "this model") -> str:
    """The Jinja text to use: `override` (a built-in name or Jinja text) or the tokenizer's own."""
    if override:
        return BUILTIN_TEMPLATES.get(override, override)
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.chat_template
    raise ChatTemplateError(
        f"{model_name} has no chat template, so it cannot be used for chat. Pass --chat-template "
        f"({' | '.join(BUILTIN_TEMPLATES)} | PATH.jinja), or register it with one: "
        f"tunelab models add NAME SOURCE --chat-template chatml"
    )


def render_chat(
    tokenizer, messages: list[dict], template: str | None = None, *, model_name: str = "this model",
    add_generation_prompt: bool = True,
) -> str:
    jinja = resolve_template(tokenizer, template, model_name)
    try:
        return tokenizer.apply_chat_template(
            messages, chat_template=jinja, tokenize=False, add_generation_prompt=add_generation_prompt
        )
    except Exception as exc:  # jinja errors name the template line; keep that detail
        raise ChatTemplateError(f"The chat template of {model_name} failed to render: {exc}") from exc
