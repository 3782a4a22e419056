"""The KV of the batching engine's running rows, and the forward step over them.

`RunningKV.step(rows)` returns the next logits of every row, (B, V). Rows live in one left-padded
`KVBatch` run through the model's own forward (PEFT's mixed adapters); while one row runs alone and
`fast_decode` is on, its KV moves to `Solo`'s static cache and the lean Llama step runs it (solo.py),
and it moves back when a row joins (`add`). `keep` drops finished rows, `reset` forgets them all.
"""

from __future__ import annotations

import torch

from tunelab.engine.adapter_pool import AdapterPool
from tunelab.engine.batching.kv_batch import KVBatch
from tunelab.engine.batching.solo import Solo
from tunelab.engine.batching.stream import Row


class RunningKV:
    def __init__(self, pool: AdapterPool, device: torch.device | str, fast_decode: bool = True) -> None:
        self.pool, self.device = pool, device
        self.batch = KVBatch(device)
        self.solo = Solo(pool, device) if fast_decode else None
        self.fast_steps = 0  # steps a lone row ran on the fast path

    def add(self, cache, length: int) -> None:
        """Merge a prefilled row (its DynamicCache of `length` tokens) in as the last row."""
        if self.solo is not None:
            self.solo.give_back(self.batch)  # a lone row on the fast path rejoins the batch first
        self.batch.add(cache, length)

    def step(self, rows: list[Row]) -> torch.Tensor:
        """Feed each row's last token at its position -> logits (B, V) of the next one."""
        if self.solo is not None and len(rows) == 1:
            logits = self.solo.step(rows[0], self.batch)
            if logits is not None:
                self.fast_steps += 1
                return logits
        input_ids = torch.tensor([[r.seq.last] for r in rows], device=self.device)  # (B, 1)
        position_ids = torch.tensor([[r.pos] for r in rows], device=self.device)  # (B, 1)
        mask = self.batch.step_mask()  # (B, L + 1)
        out = self.pool.forward(input_ids, [r.req.adapter for r in rows], cache=self.batch.cache,
                                attention_mask=mask, position_ids=position_ids)
        self.batch.advance(mask)
        return out.logits[:, -1, :]

    def keep(self, rows: list[Row], keep: list[int]) -> None:
        """Keep only `rows[i]` for i in `keep` (indices, in order)."""
        if self.solo is not None and self.solo.row is not None and self.solo.row not in [rows[i] for i in keep]:
            self.solo.drop()  # the lone row ended; the batch is empty already
        self.batch.keep(keep)

    def reset(self) -> None:
        self.batch.reset()
        if self.solo is not None:
            self.solo.drop()
