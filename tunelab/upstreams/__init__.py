"""Remote OpenAI-compatible servers ("upstreams": another TuneLab, vLLM, a hosted API): their
registry in the store, the client that lists their models and sends requests to them (library
values; `tunelab.serve.upstream_proxy` shapes them into HTTP answers), and vLLM's runtime LoRA loading."""

from tunelab.upstreams.registry import UnknownUpstreamError, UpstreamInfo, UpstreamRegistry

__all__ = ["UnknownUpstreamError", "UpstreamInfo", "UpstreamRegistry"]
