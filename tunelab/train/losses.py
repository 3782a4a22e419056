"""Loss functions over micro-batches (see `batching.Batch`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tunelab.train.tokenize import IGNORE


def causal_lm_loss(model, batch) -> tuple[torch.Tensor, int, int]:
    """Summed next-token cross-entropy over labelled tokens -> (loss_sum, n_target, n_tokens).

    Position t predicts token t+1. For a packed batch (one row) only the positions whose next token
    carries a label go through the LM head (`logits_to_keep` as an index tensor): prompt tokens
    cost no vocab-sized matmul or softmax.
    """
    target = batch.labels[:, 1:]  # (rows, L-1)
    keep = target != IGNORE
    device = next(model.parameters()).device
    inputs = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.model_inputs().items()}
    inputs["use_cache"] = False
    if batch.position_ids is not None:
        idx = keep[0].nonzero().squeeze(-1)  # (k,)
        logits = model(**inputs, logits_to_keep=idx.to(device)).logits[0]  # (k, V)
        tgt = target[0, idx]
    else:
        logits = model(**inputs).logits[:, :-1][keep.to(device)]  # (k, V)
        tgt = target[keep]
    loss = F.cross_entropy(logits.float(), tgt.to(device), reduction="sum")
    return loss, int(tgt.numel()), batch.n_tokens
