"""The batching engine's fast path while one row runs alone: its KV moves from the batch's
`DynamicCache` into a preallocated `StaticKV` and each step is `LeanLlama.step` (lean_llama.py)
instead of the model's own forward; when a second row joins, the KV goes back to the batch.

`Solo.step(row, batch)` returns the row's next logits, or None when this row cannot take the lean
path (the model or the row's adapter has layers it does not run: the engine then runs the batch
path, which stays correct for everything). Greedy tokens equal the batch path's: the same math on
the same weights (tests/unit/serve/test_engine_fast_decode.py).
"""

from __future__ import annotations

import logging

import torch

from tunelab.engine.adapter_pool import AdapterPool
from tunelab.engine.batching.kv_batch import KVBatch
from tunelab.engine.batching.stream import Row
from tunelab.engine.lean_llama import LeanLlama, Plan, StaticKV, lean_unsupported

log = logging.getLogger("tunelab.engine")

ROOM = 128  # positions reserved beyond the next step's when the KV moves in (the cache grows by doubling)


class Solo:
    def __init__(self, pool: AdapterPool, device: torch.device | str) -> None:
        self.pool, self.device = pool, device
        reason = lean_unsupported(pool.base)
        self.lean = LeanLlama(pool.base) if reason is None else None
        if reason is not None:
            log.info("fast decode off for this model: %s", reason)
        self.row: Row | None = None  # the row whose KV is in `kv`
        self.kv: StaticKV | None = None
        self.plan: Plan | None = None
        self._refused: set[str] = set()  # weights keys (new on every adapter load) the lean step cannot run

    @property
    def available(self) -> bool:
        return self.lean is not None

    def step(self, row: Row, batch: KVBatch) -> torch.Tensor | None:
        """The logits (1, vocab) after feeding `row.seq.last` at `row.pos`, or None: use the batch path."""
        if self.lean is None:
            return None
        if self.row is not row:
            self.give_back(batch)
            if not self._take(row, batch):
                return None
        token = torch.tensor([[row.seq.last]], device=self.device)
        try:
            return self.lean.step(self.plan, token, row.pos, self.kv)
        except Exception as exc:  # kv.length moves only after a whole step: the KV is intact
            log.warning("fast decode failed (%s: %s); the model's own forward takes over", type(exc).__name__, exc)
            self.give_back(batch)
            self.lean = None
            return None

    def _take(self, row: Row, batch: KVBatch) -> bool:
        key = self.pool.weights_key(row.req.adapter)
        if key in self._refused:
            return False
        try:
            plan = self.lean.plan(key)
        except ValueError as exc:
            log.info("fast decode off for weights %r: %s", row.req.adapter, exc)
            self._refused.add(key)
            return False
        if len(batch) != 1 or batch.mask.shape[1] != row.pos:  # padding left: KVBatch.keep cuts it, stay safe
            return False
        layers, _ = batch.take_single()
        self.plan, self.row = plan, row
        self.kv = StaticKV(layers, min(row.pos + ROOM, self.pool.loaded.context_length + 1))
        return True

    def give_back(self, batch: KVBatch) -> None:
        """Move the held row's KV back into the (empty) batch, as one row of its DynamicCache."""
        if self.row is None:
            return
        batch.put_single([(k.clone(), v.clone()) for k, v in self.kv.layers()], self.kv.length)
        self.drop()

    def drop(self) -> None:
        self.row, self.kv, self.plan = None, None, None
