"""The continuous-batching engine: scheduling and admission (engine.py), the batch's KV cache with
merge and prune (kv_batch.py), and the event stream a request reads (stream.py)."""

from tunelab.engine.batching.engine import BatchingEngine

__all__ = ["BatchingEngine"]
