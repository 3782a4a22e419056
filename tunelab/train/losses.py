"""Loss functions over micro-batches (see `batching.Batch`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tunelab.train.tokenize import IGNORE


def backbone_and_head(model):
    """(the transformer body, the LM head) of a causal LM, PEFT-wrapped or not."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return getattr(inner, inner.base_model_prefix), inner.get_output_embeddings()


def fp32_logits(head, hidden: torch.Tensor) -> torch.Tensor:
    """LM head in fp32 even under bf16 autocast: bf16 logits (~3 significant digits) make the
    cross-entropy gradient noisy enough to cost several % of eval loss on short runs."""
    with torch.autocast(hidden.device.type, enabled=False):
        if type(head) is torch.nn.Linear:
            bias = head.bias.float() if head.bias is not None else None
            return F.linear(hidden.float(), head.weight.float(), bias)
        return head(hidden.to(head.weight.dtype)).float()  # e.g. a LoRA-wrapped head


def target_logits(model, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """fp32 logits at the positions whose next token carries a label -> (logits (k, V), targets (k,),
    keep mask (rows, L-1)). Position t predicts token t+1; only those k positions go through the LM
    head, so prompt tokens cost no vocab-sized matmul or softmax."""
    target = batch.labels[:, 1:]  # (rows, L-1)
    keep = target != IGNORE
    backbone, head = backbone_and_head(model)
    device = head.weight.device
    inputs = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.model_inputs().items()}
    inputs["use_cache"] = False
    hidden = backbone(**inputs).last_hidden_state  # (rows, L, H)
    logits = fp32_logits(head, hidden[:, :-1][keep.to(device)])  # (k, V)
    return logits, target[keep].to(device), keep


def causal_lm_loss(model, batch) -> tuple[torch.Tensor, int, int]:
    """Summed next-token cross-entropy over labelled tokens -> (loss_sum, n_target, n_tokens)."""
    logits, tgt, _ = target_logits(model, batch)
    return F.cross_entropy(logits, tgt, reduction="sum"), int(tgt.numel()), batch.n_tokens
