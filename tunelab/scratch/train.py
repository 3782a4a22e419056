"""Fine-tuning from scratch: loss on the completion tokens only, AdamW, warm-up then cosine decay.

Teaches: the model is trained to predict token t+1 from tokens 1..t, at every position at once (the
causal mask makes that honest). For instruction tuning only the answer's tokens count: the prompt's
labels are -100 and left out of the mean. AdamW keeps a running mean (m) and mean square (v) of each
gradient and steps by m / sqrt(v), so every parameter moves at a similar rate; weight decay shrinks
the weights directly ("decoupled"). The learning rate climbs from 0 for `warmup_steps`, then follows
half a cosine down to 0. Seeded: the same seed gives the same batches, dropout and losses.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

IGNORE = -100  # the label of a position that does not count in the loss


@dataclass
class Example:
    ids: list[int]  # prompt + completion (+ end of sequence)
    labels: list[int]  # IGNORE on the prompt, the ids themselves on the completion


def encode_example(tokenizer, prompt: str, completion: str, *, max_len: int = 512) -> Example:
    """Tokenize prompt and completion apart (so the border is exact) and end with the EOS token."""
    p = tokenizer(prompt)["input_ids"]
    c = tokenizer(completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    ids, labels = (p + c)[:max_len], ([IGNORE] * len(p) + c)[:max_len]
    return Example(ids, labels)


def collate(batch: list[Example], pad_id: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to the longest example -> ids, labels: (batch, longest). Padding comes after the real
    tokens, so the causal mask already keeps them from being attended to; their labels are IGNORE."""
    longest = max(len(e.ids) for e in batch)
    ids = [e.ids + [pad_id] * (longest - len(e.ids)) for e in batch]
    labels = [e.labels + [IGNORE] * (longest - len(e.labels)) for e in batch]
    return torch.tensor(ids, device=device), torch.tensor(labels, device=device)


def loss_sum(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, int]:
    """logits (batch, seq, vocab), labels (batch, seq) -> (summed negative log-likelihood of the counted
    next tokens, how many were counted)."""
    logits, targets = logits[:, :-1], labels[:, 1:]  # (b, seq-1, vocab), (b, seq-1): position t predicts t+1
    logp = torch.log_softmax(logits.float(), dim=-1)  # (b, seq-1, vocab)
    keep = targets != IGNORE  # (b, seq-1)
    picked = logp.gather(-1, targets.clamp(min=0)[..., None]).squeeze(-1)  # (b, seq-1): log p(true token)
    return -(picked * keep).sum(), int(keep.sum())


def completion_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the counted tokens of the batch (what F.cross_entropy with
    ignore_index=-100 gives on the shifted logits)."""
    total, count = loss_sum(logits, labels)
    return total / max(count, 1)


class AdamW:
    """Adam with decoupled weight decay (Loshchilov and Hutter), one state per parameter."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.m = [torch.zeros_like(p) for p in self.params]  # running mean of the gradient
        self.v = [torch.zeros_like(p) for p in self.params]  # running mean of its square
        self.t = 0

    @torch.no_grad()
    def step(self, lr: float | None = None) -> None:
        lr = self.lr if lr is None else lr
        b1, b2 = self.betas
        self.t += 1
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad
            p.mul_(1 - lr * self.weight_decay)  # decay the weight itself, not through the gradient
            m.mul_(b1).add_(g, alpha=1 - b1)  # m = b1 m + (1 - b1) g
            v.mul_(b2).addcmul_(g, g, value=1 - b2)  # v = b2 v + (1 - b2) g^2
            m_hat = m / (1 - b1 ** self.t)  # both start at 0: undo that bias in the early steps
            v_hat = v / (1 - b2 ** self.t)
            p.addcdiv_(m_hat, v_hat.sqrt() + self.eps, value=-lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


def lr_at(step: int, peak: float, warmup_steps: int, total_steps: int) -> float:
    """Learning rate of optimizer step `step` (0-based): linear from 0 to `peak` over the warm-up, then
    half a cosine down to 0 at `total_steps` (transformers' get_cosine_schedule_with_warmup)."""
    if step < warmup_steps:
        return peak * step / max(1, warmup_steps)
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


@torch.no_grad()
def clip_grad_norm(params: list[nn.Parameter], max_norm: float) -> float:
    """Scale all gradients down together when their joint L2 norm is over `max_norm`; return the norm."""
    grads = [p.grad for p in params if p.grad is not None]
    norm = torch.sqrt(sum((g.float() ** 2).sum() for g in grads))
    scale = max_norm / (float(norm) + 1e-6)
    if scale < 1:
        for g in grads:
            g.mul_(scale)
    return float(norm)


@dataclass
class TrainConfig:
    steps: int = 30
    batch_size: int = 4
    lr: float = 2e-3
    warmup_steps: int = 3
    weight_decay: float = 0.0
    max_grad_norm: float | None = 1.0
    seed: int = 0
    eval_every: int | None = None  # held-out loss every N steps (and at the end)


@dataclass
class TrainHistory:
    train_loss: list[float] = field(default_factory=list)  # one per step
    eval_loss: list[tuple[int, float]] = field(default_factory=list)  # (step, held-out loss)


def batches(examples: list[Example], batch_size: int, generator: torch.Generator) -> Iterator[list[Example]]:
    """Endless batches: the examples in a seeded random order, reshuffled every pass."""
    if not examples:
        raise ValueError("There are no training examples.")
    while True:
        order = torch.randperm(len(examples), generator=generator).tolist()
        for i in range(0, len(order), batch_size):
            yield [examples[j] for j in order[i:i + batch_size]]


@torch.no_grad()
def evaluate(model: nn.Module, examples: list[Example], *, pad_id: int, batch_size: int = 8) -> float:
    """Mean loss per counted token over `examples` (eval mode: no dropout)."""
    was_training, device = model.training, next(model.parameters()).device
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(examples), batch_size):
        ids, labels = collate(examples[i:i + batch_size], pad_id, device)
        s, n = loss_sum(model(ids), labels)
        total, count = total + float(s), count + n
    model.train(was_training)
    return total / max(count, 1)


def train(model: nn.Module, examples: list[Example], cfg: TrainConfig, *, pad_id: int,
          eval_examples: list[Example] | None = None) -> TrainHistory:
    """Train the parameters of `model` that require grad (the LoRA A and B after `wrap_lora`)."""
    torch.manual_seed(cfg.seed)  # dropout masks
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("No parameter of the model requires grad: wrap it with LoRA (wrap_lora) first.")
    opt = AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    stream = batches(examples, cfg.batch_size, torch.Generator().manual_seed(cfg.seed))
    device, history = params[0].device, TrainHistory()
    model.train()
    for step in range(cfg.steps):
        ids, labels = collate(next(stream), pad_id, device)  # (batch, longest) each
        loss = completion_loss(model(ids), labels)  # a scalar: mean over the completion tokens
        loss.backward()  # gradients reach A and B only; the base weights are frozen
        if cfg.max_grad_norm is not None:
            clip_grad_norm(params, cfg.max_grad_norm)
        opt.step(lr_at(step, cfg.lr, cfg.warmup_steps, cfg.steps))
        opt.zero_grad()
        history.train_loss.append(loss.item())
        done = step + 1
        if eval_examples and cfg.eval_every and (done % cfg.eval_every == 0 or done == cfg.steps):
            history.eval_loss.append((done, evaluate(model, eval_examples, pad_id=pad_id)))
    model.eval()
    return history
