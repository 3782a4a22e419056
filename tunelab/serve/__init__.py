"""Serving: OpenAI-compatible HTTP API (protocol, routes, app), the generation engine, and
remote OpenAI-compatible upstreams (providers)."""
