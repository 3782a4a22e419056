"""Request traces as data: which requests are traced (`TracePolicy`, from TUNELAB_TRACE), and a
stored trace as a dataset record (`trace_record`: the `messages` format, the prompt's messages then
the response as the assistant's turn, so `tunelab data validate` and training read an export)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TracePolicy:
    """'all', or the models (request model ids and adapter names) and API key names traced."""

    everything: bool = False
    models: frozenset[str] = field(default_factory=frozenset)
    keys: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, text: str) -> TracePolicy:
        items = [i.strip() for i in text.split(",") if i.strip()]
        models = {i.split(":", 1)[1] for i in items if i.startswith("model:")}
        keys = {i.split(":", 1)[1] for i in items if i.startswith("key:")}
        return cls(everything="all" in items, models=frozenset(models), keys=frozenset(keys))

    @property
    def enabled(self) -> bool:
        return self.everything or bool(self.models or self.keys)

    def wants(self, model: str, adapter: str | None, key: str | None) -> bool:
        return (self.everything or model in self.models or (adapter is not None and adapter in self.models)
                or (key is not None and key in self.keys))


def trace_record(prompt: list[dict[str, Any]], response: str) -> dict[str, Any]:
    """{"messages": [...the prompt..., {"role": "assistant", "content": response}]} (a completion's
    prompt text is stored as one user message, so every trace has this shape)."""
    messages = [{"role": m["role"], "content": m.get("content") or ""} for m in prompt]
    return {"messages": messages + [{"role": "assistant", "content": response}]}


TRACE_FIELDS = ("id", "kind", "model", "adapter", "caller", "prompt", "response", "choices", "latency_ms",
                "prompt_tokens", "completion_tokens", "finish_reason", "constraint", "sources")


def trace_dict(row) -> dict[str, Any]:
    """A stored trace (a `traces` row) as plain JSON values."""
    out = {f: getattr(row, f) for f in TRACE_FIELDS}
    out["created_at"] = row.created_at.isoformat() if row.created_at else None
    return out
