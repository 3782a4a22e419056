"""Generation engines behind the server. `types.py` is the contract between routes and engines."""

from tunelab.engine.types import Constraint, EngineStats, GenerationEngine, GenRequest, TokenEvent

__all__ = ["Constraint", "EngineStats", "GenerationEngine", "GenRequest", "TokenEvent"]
