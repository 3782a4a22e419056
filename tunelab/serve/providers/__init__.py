"""Remote OpenAI-compatible servers ("upstreams": another TuneLab, vLLM, a hosted API): their
registry in the store, the client that lists their models and forwards requests to them, and
vLLM's runtime LoRA loading."""

from tunelab.serve.providers.registry import UnknownUpstreamError, UpstreamInfo, UpstreamRegistry

__all__ = ["UnknownUpstreamError", "UpstreamInfo", "UpstreamRegistry"]
