"""Generation below everything that generates (the server, task models, the CLI): sampling, output
constraints (llguidance), one decode core, one adapter pool, the sequential and batching engines, and
likelihood scoring. `types.py` is the contract between an engine and its callers."""

from tunelab.engine.sampling import SamplingParams
from tunelab.engine.types import (
    Constraint,
    EngineStats,
    GenerationEngine,
    GenRequest,
    QueueFullError,
    ScoreRequest,
    TokenEvent,
)

__all__ = ["Constraint", "EngineStats", "GenerationEngine", "GenRequest", "QueueFullError", "SamplingParams",
           "ScoreRequest", "TokenEvent"]
