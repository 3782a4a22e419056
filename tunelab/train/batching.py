"""Micro-batches for causal-LM training, padded or packed.

Packed (padding-free): the samples of a micro-batch are concatenated into one row of shape
(1, sum of lengths) with `position_ids` restarting at 0 for each sample and no attention mask;
transformers then builds a block-diagonal causal mask from the position ids, so no token attends
across samples and no compute is spent on padding. Padded: right-padded to the longest sample, with no
attention mask: under the causal mask a real token only sees earlier positions, which right padding
keeps real, so its numbers are those of the sample alone, and attention takes the kernel's fast
causal path (no (rows, L, L) mask is built). Padded rows waste little when `group_by_length` puts
samples of similar length together (but then a micro-batch holds one kind of sample: on the
training bench's data that cost 15% of eval loss in 40 steps, so packing stays the default; its
attention runs per sample too, packed_attention.py).

Either way the order of samples comes from a seeded permutation per epoch, so a resumed run sees
exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tunelab.train.tokenize import IGNORE, Example


@dataclass
class Batch:
    input_ids: torch.Tensor  # (rows, length)
    labels: torch.Tensor  # (rows, length), IGNORE where no loss
    position_ids: torch.Tensor | None  # (1, length) when packed
    attention_mask: torch.Tensor | None  # (rows, length), only where padding is not on the right
    n_samples: int
    n_tokens: int  # real (non-pad) tokens
    n_target: int  # tokens that carry loss (after the shift)

    def model_inputs(self) -> dict:
        d = {"input_ids": self.input_ids}
        if self.position_ids is not None:
            # no cache: transformers builds the block-diagonal mask from position ids only when
            # there is neither an attention mask nor a KV cache
            d["position_ids"] = self.position_ids
            d["use_cache"] = False
        if self.attention_mask is not None:
            d["attention_mask"] = self.attention_mask
        return d


def pack(examples: list[Example]) -> Batch:
    ids, labels, pos = [], [], []
    for ex in examples:
        ids += ex.input_ids
        # the first token of each sample has no prediction from the previous sample: mask it so
        # the shifted loss never asks sample k's last token to predict sample k+1's first.
        labels += [IGNORE] + ex.labels[1:]
        pos += range(len(ex))
    lab = torch.tensor([labels])
    return Batch(torch.tensor([ids]), lab, torch.tensor([pos]), None, len(examples), len(ids),
                 int((lab[:, 1:] != IGNORE).sum()))


def pad(examples: list[Example], pad_id: int) -> Batch:
    """Right-padded rows, no attention mask (see the module's doc); pad positions carry no label."""
    width = max(len(ex) for ex in examples)
    ids = torch.full((len(examples), width), pad_id)
    labels = torch.full((len(examples), width), IGNORE)
    for i, ex in enumerate(examples):
        n = len(ex)
        ids[i, :n] = torch.tensor(ex.input_ids)
        labels[i, :n] = torch.tensor(ex.labels)
    return Batch(ids, labels, None, None, len(examples), sum(len(ex) for ex in examples),
                 int((labels[:, 1:] != IGNORE).sum()))


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n, generator=g).tolist()


GROUP_WINDOW = 16  # micro-batches whose samples are sorted by length together (group_by_length)


def batches_for_epoch(examples: list[Example], batch_size: int, seed: int, epoch: int,
                      group_by_length: bool = False) -> list[list[Example]]:
    """The epoch's micro-batches, from a seeded permutation. `group_by_length`: each window of
    GROUP_WINDOW x batch_size samples of that order is sorted by length before it is cut, and the
    batches are then shuffled (same seed), so a batch holds samples of similar length while the
    epoch's order stays random at the scale of windows."""
    order = epoch_order(len(examples), seed, epoch)
    if not group_by_length:
        return [[examples[i] for i in order[k:k + batch_size]] for k in range(0, len(order), batch_size)]
    window = GROUP_WINDOW * batch_size
    groups = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w:w + window], key=lambda i: (-len(examples[i]), i))
        groups += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    shuffle = epoch_order(len(groups), seed + 1, epoch)
    return [[examples[i] for i in groups[g]] for g in shuffle]
