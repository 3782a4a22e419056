"""Column names and ShareGPT role tags, with LLaMA-Factory's meaning: `Columns` says which key of a
record holds the prompt, query, response, history, messages, system, tools, chosen and rejected;
`Tags` says which keys of a message hold its role and content and which role values mean what.
A None column or tag is not used. The defaults are LLaMA-Factory's; TuneLab's own formats use the
`NATIVE_*` instances.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Columns:
    prompt: str | None = "instruction"
    query: str | None = "input"
    response: str | None = "output"
    history: str | None = None
    messages: str | None = "conversations"
    system: str | None = None
    tools: str | None = None
    chosen: str | None = None
    rejected: str | None = None


@dataclass(frozen=True)
class Tags:
    role_tag: str | None = "from"
    content_tag: str | None = "value"
    user_tag: str | None = "human"
    assistant_tag: str | None = "gpt"
    observation_tag: str | None = "observation"
    function_tag: str | None = "function_call"
    system_tag: str | None = "system"

    def roles(self) -> dict[str, tuple[str, bool]]:
        """Role value in the data -> (TuneLab role, is a tool call)."""
        pairs = [
            (self.user_tag, ("user", False)),
            (self.assistant_tag, ("assistant", False)),
            (self.observation_tag, ("tool", False)),
            (self.function_tag, ("assistant", True)),
            (self.system_tag, ("system", False)),
        ]
        return {tag: meaning for tag, meaning in pairs if tag is not None}

    def tags_for(self, *roles: str) -> list[str]:
        """The role values in the data that mean any of `roles` (TuneLab roles), for messages."""
        return [tag for tag, (role, _) in self.roles().items() if role in roles]


SHAREGPT_TAGS = Tags()
OPENAI_TAGS = Tags(
    role_tag="role",
    content_tag="content",
    user_tag="user",
    assistant_tag="assistant",
    observation_tag="tool",
    function_tag=None,  # OpenAI marks a call with `tool_calls` on an assistant message instead
    system_tag="system",
)

NATIVE_ALPACA = Columns(history="history", system="system", tools="tools", chosen="chosen", rejected="rejected")
NATIVE_SHAREGPT = Columns(messages="conversations", system="system", tools="tools", chosen="chosen", rejected="rejected")
NATIVE_MESSAGES = Columns(messages="messages", system="system", tools="tools", chosen="chosen", rejected="rejected")


def guess_tags(messages: object) -> Tags:
    """ShareGPT tags when the first message has a ``from`` key, OpenAI tags otherwise."""
    if isinstance(messages, dict):
        messages = [messages]
    if isinstance(messages, list) and messages and isinstance(messages[0], dict) and "from" in messages[0]:
        return SHAREGPT_TAGS
    return OPENAI_TAGS
