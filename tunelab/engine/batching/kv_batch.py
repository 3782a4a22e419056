"""The KV cache of a running batch: one `DynamicCache` for every row, left-padded.

Row r keeps its real tokens at the right end of the cache; the attention mask (batch, cache_len)
marks them, and the engine's position ids count real tokens only, so a row's numbers are those of the
row alone up to float rounding. Shapes: keys/values per layer (batch, kv_heads, cache_len, head_dim).
`add` merges a prefilled row in (padding whichever side is shorter), `keep` drops finished rows and
cuts the columns that became padding in every remaining row; `take_single` and `put_single` move a
lone row's KV out to the fast path (solo.py) and back.
"""

from __future__ import annotations

import torch


def _pad_left(x: torch.Tensor, n: int, dim: int) -> torch.Tensor:
    if n == 0:
        return x
    shape = list(x.shape)
    shape[dim] = n
    return torch.cat([x.new_zeros(shape), x], dim=dim)


class KVBatch:
    def __init__(self, device: torch.device | str) -> None:
        self.device = device
        self.cache = None  # transformers DynamicCache, (B, H, L, D) per layer
        self.mask: torch.Tensor | None = None  # (B, L) long, 1 = real token

    def __len__(self) -> int:
        return 0 if self.mask is None else self.mask.shape[0]

    def add(self, row_cache, row_len: int) -> None:
        """Append a prefilled row (its cache: (1, H, row_len, D) per layer) as the last row."""
        from transformers import DynamicCache  # lazy: transformers takes seconds to import

        if self.cache is None:
            self.cache = row_cache
            self.mask = torch.ones((1, row_len), dtype=torch.long, device=self.device)
            return
        length = self.mask.shape[1]
        total = max(length, row_len)
        data = []
        for batch_layer, row_layer in zip(self.cache.layers, row_cache.layers):
            k = torch.cat([_pad_left(batch_layer.keys, total - length, 2),
                           _pad_left(row_layer.keys, total - row_len, 2)])
            v = torch.cat([_pad_left(batch_layer.values, total - length, 2),
                           _pad_left(row_layer.values, total - row_len, 2)])
            data.append((k, v))
        row_mask = _pad_left(self.mask.new_ones((1, row_len)), total - row_len, 1)
        self.cache = DynamicCache(ddp_cache_data=data)
        self.mask = torch.cat([_pad_left(self.mask, total - length, 1), row_mask])

    def step_mask(self) -> torch.Tensor:
        """The attention mask of the next decode step: every row gets one more real token (B, L + 1).
        Becomes the batch's mask once the step ran (`advance`)."""
        return torch.cat([self.mask, self.mask.new_ones((self.mask.shape[0], 1))], dim=1)

    def advance(self, mask: torch.Tensor) -> None:
        self.mask = mask

    def keep(self, rows: list[int]) -> None:
        """Keep only `rows` (indices, in order); none left empties the batch."""
        if not rows:
            self.reset()
            return
        idx = torch.tensor(rows, device=self.device)
        self.cache.batch_select_indices(idx)
        self.mask = self.mask[idx]
        # Columns that are padding in every remaining row (a long row left): cut them off.
        first = int(self.mask.any(dim=0).long().argmax())
        if first:
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[..., first:, :], layer.values[..., first:, :]
            self.mask = self.mask[:, first:]

    def take_single(self) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], int]:
        """Empty a batch of one row without padding: (per layer (keys, values), (1, H, L, D); L)."""
        if len(self) != 1 or not bool(self.mask.all()):
            raise ValueError("take_single needs a batch of exactly one row without padding.")
        layers = [(layer.keys, layer.values) for layer in self.cache.layers]
        length = self.mask.shape[1]
        self.reset()
        return layers, length

    def put_single(self, layers: list[tuple[torch.Tensor, torch.Tensor]], length: int) -> None:
        """Make an empty batch hold one row: `layers` per layer (keys, values), (1, H, length, D)."""
        from transformers import DynamicCache  # lazy: transformers takes seconds to import

        if self.cache is not None:
            raise ValueError("put_single needs an empty batch.")
        self.add(DynamicCache(ddp_cache_data=layers), length)

    def reset(self) -> None:
        self.cache, self.mask = None, None
