"""The Ollama Modelfile written beside an exported GGUF: FROM the file, and for a ChatML-style chat
template its translation into Ollama's Go-template syntax, the default system message as SYSTEM
and the turn tokens as stop parameters.

The translation is checked, not assumed: the model's Jinja template is rendered on a few probe
conversations and each must equal what the Go template renders for the same messages (with the
default system message first when the probe has none, as Ollama adds SYSTEM). A template that
differs anywhere gets no TEMPLATE line, and Ollama falls back on the one stored in the GGUF.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

IM_START, IM_END = "<|im_start|>", "<|im_end|>"

# Ollama's own ChatML template: every message as a turn, then the assistant's turn opened.
CHATML_GO = (
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n"
    "{{ .Content }}<|im_end|>\n"
    "{{ end }}<|im_start|>assistant\n"
)

_S = {"role": "system", "content": "Probe system text."}
_U1 = {"role": "user", "content": "Hello there, shop assistant."}
_A1 = {"role": "assistant", "content": "Hi! How can I help?"}
_U2 = {"role": "user", "content": "Thanks, and the price?"}
PROBES = [[_U1], [_S, _U1], [_S, _U1, _A1, _U2], [_U1, _A1, _U2]]


@dataclass(frozen=True)
class ChatML:
    """A chat template that renders as ChatML; `default_system`: the system message it writes
    when the conversation has none (None: it writes none)."""

    default_system: str | None


def chatml(messages: list[dict]) -> str:
    """What CHATML_GO renders for `messages` (Ollama's .Messages)."""
    turns = "".join(f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in messages)
    return turns + f"{IM_START}assistant\n"


def as_chatml(tokenizer, template: str | None) -> ChatML | None:
    """ChatML(...) when Jinja `template` renders every probe exactly as ChatML does, else None."""
    vocab = tokenizer.get_vocab()
    if not template or IM_START not in vocab or IM_END not in vocab:
        return None
    try:
        rendered = [tokenizer.apply_chat_template(p, chat_template=template, tokenize=False,
                                                  add_generation_prompt=True) for p in PROBES]
    except Exception:  # a template that fails on plain messages is not one we can translate
        return None
    default = _default_system(rendered[0], PROBES[0])
    if default is not None and '"""' in default:
        return None  # cannot be quoted in a Modelfile
    for probe, text in zip(PROBES, rendered, strict=True):
        expected = probe if default is None or probe[0]["role"] == "system" else [
            {"role": "system", "content": default}, *probe]
        if text != chatml(expected):
            return None
    return ChatML(default_system=default)


def _default_system(text: str, probe: list[dict]) -> str | None:
    """The system message `text` (a render of `probe`, which has none) starts with, if any."""
    head, tail = f"{IM_START}system\n", f"{IM_END}\n" + chatml(probe)
    if text.startswith(head) and text.endswith(tail) and len(text) >= len(head) + len(tail):
        return text[len(head):len(text) - len(tail)]
    return None


def modelfile_text(gguf_name: str, chat: ChatML | None, *, eos_token: str | None, title: str,
                   has_template: bool) -> str:
    """The Modelfile for `gguf_name` (a file in the same folder)."""
    lines = [f"# Ollama Modelfile for {gguf_name}: {title}.",
             f"# ollama create NAME -f {gguf_name.removesuffix('.gguf')}.Modelfile", f"FROM ./{gguf_name}"]
    stops = []
    if chat is not None:
        lines.append(f'TEMPLATE """{CHATML_GO}"""')
        if chat.default_system is not None:
            lines.append(f'SYSTEM """{chat.default_system}"""')
        stops = [IM_END, IM_START]
    else:
        why = "is not ChatML-style" if has_template else "is missing"
        lines += [f"# No TEMPLATE: the model's chat template {why}, so none is translated here; Ollama",
                  "# uses what it can find from the chat template stored in the GGUF file."]
    if eos_token and eos_token not in stops:
        stops.append(eos_token)
    lines += [f"PARAMETER stop {json.dumps(s)}" for s in stops]
    return "\n".join(lines) + "\n"
