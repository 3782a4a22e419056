"""The optimisation loop every recipe shares: grad accumulation, warm-up + decay schedule, clipping,
bf16 autocast, periodic eval and atomic checkpoints, resumable at any checkpoint.

A recipe supplies `batches(epoch) -> list[micro-batch]` (deterministic for a seed and epoch) and
`loss_fn(model, batch) -> (sum of per-token losses, number of target tokens, tokens processed)`.
Each optimizer step divides by the target tokens of all its micro-batches, so accumulation gives
the same gradient as one big batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from tunelab.progress import Progress
from tunelab.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from tunelab.train.runs import RunRecorder

LossFn = Callable[[Any, Any], tuple[torch.Tensor, int, int]]


class TrainingCancelled(Exception):
    """`stop()` said to stop: a checkpoint of the current step was saved; resume continues there."""

    def __init__(self, step: int, checkpoint: Path) -> None:
        super().__init__(f"cancelled at step {step}; checkpoint {checkpoint}")
        self.step, self.checkpoint = step, checkpoint


def lr_at(step: int, total: int, warmup: int, peak: float, kind: str) -> float:
    """Learning rate for optimizer step `step` (0-based): linear warm-up to `peak`, then decay."""
    if warmup and step < warmup:
        return peak * (step + 1) / warmup
    if kind == "constant":
        return peak
    progress = (step - warmup) / max(1, total - warmup)
    if kind == "linear":
        return peak * max(0.0, 1.0 - progress)
    return peak * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


@dataclass
class LoopSettings:
    total_steps: int
    grad_accum: int
    learning_rate: float
    lr_scheduler: str
    warmup_steps: int
    weight_decay: float
    max_grad_norm: float | None
    bf16: bool
    save_every: int
    eval_every: int | None
    log_every: int
    progress_interval_s: float | None = None  # seconds between plain progress lines (not a terminal)


@dataclass
class LoopResult:
    final_metrics: dict[str, float] = field(default_factory=dict)
    train_tokens: int = 0
    wall_time_s: float = 0.0


def train_loop(model, *, settings: LoopSettings, batches: Callable[[int], list], loss_fn: LossFn,
               evaluate: Callable[[], dict[str, float]] | None, recorder: RunRecorder, ckpt_dir: Path,
               device: torch.device, console: Console, resume: bool = False,
               stop: Callable[[], bool] | None = None) -> LoopResult:
    """`stop`: asked after each optimizer step; True saves a checkpoint and raises TrainingCancelled."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    step, tokens_done = 0, 0
    if resume and (ckpt := latest_checkpoint(ckpt_dir)) is not None:
        state = load_checkpoint(ckpt, model, optimizer)
        step, tokens_done = state["step"], state.get("tokens", 0)
        console.print(f"Resuming {recorder.run_id} from {ckpt.name}")
    recorder.rewind(step)
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if settings.bf16 else nullcontext
    epoch_cache: dict[int, list] = {}

    def micro(m: int):
        first = epoch_cache.setdefault(0, batches(0))
        epoch, index = divmod(m, len(first))
        if epoch not in epoch_cache:
            epoch_cache.clear()
            epoch_cache[0] = first
            epoch_cache[epoch] = batches(epoch)
        return epoch_cache[epoch][index]

    result = LoopResult()
    started = time.monotonic()
    session_tokens = 0
    model.train()
    with Progress(console, "train", total=settings.total_steps, completed=step, noun="step", rate_unit=None,
                  fields={"loss": "loss {}", "tps": "{} tok/s"}, interval_s=settings.progress_interval_s) as progress:
        while step < settings.total_steps:
            group = [micro(step * settings.grad_accum + k) for k in range(settings.grad_accum)]
            n_target = sum(b.n_target for b in group)
            lr = lr_at(step, settings.total_steps, settings.warmup_steps, settings.learning_rate, settings.lr_scheduler)
            for g in optimizer.param_groups:
                g["lr"] = lr
            loss_total = 0.0
            for b in group:
                with autocast():
                    loss_sum, _, n_tok = loss_fn(model, b)
                (loss_sum / max(1, n_target)).backward()
                loss_total += float(loss_sum.detach())
                tokens_done += n_tok
                session_tokens += n_tok
            grad_norm = None
            if settings.max_grad_norm:
                grad_norm = float(torch.nn.utils.clip_grad_norm_(params, settings.max_grad_norm))
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            loss = loss_total / max(1, n_target)
            tps = session_tokens / max(1e-9, time.monotonic() - started)
            metrics = {"train_loss": loss, "lr": lr, "tokens_per_s": tps}
            if grad_norm is not None:
                metrics["grad_norm"] = grad_norm
            if evaluate and settings.eval_every and step % settings.eval_every == 0 and step < settings.total_steps:
                metrics.update(_eval(model, evaluate, autocast))
            if step % settings.log_every == 0 or step == settings.total_steps or "eval_loss" in metrics:
                recorder.log(step, metrics)
            progress.update(step, loss=f"{loss:.4f}", tps=f"{tps:,.0f}")
            if step % settings.save_every == 0 and step < settings.total_steps:
                recorder.flush()  # the store's step and metrics reach at least the checkpoint
                save_checkpoint(ckpt_dir, step, model, optimizer, {"tokens": tokens_done})
            if stop is not None and step < settings.total_steps and stop():
                recorder.flush()
                raise TrainingCancelled(step, save_checkpoint(ckpt_dir, step, model, optimizer, {"tokens": tokens_done}))
    result.final_metrics = {"train_loss": loss if settings.total_steps else float("nan")}
    if evaluate:
        final_eval = _eval(model, evaluate, autocast)
        recorder.log(step, final_eval)
        result.final_metrics.update(final_eval)
    result.train_tokens = tokens_done
    result.wall_time_s = time.monotonic() - started
    return result


def _eval(model, evaluate, autocast) -> dict[str, float]:
    model.eval()
    try:
        with torch.no_grad(), autocast():
            return evaluate()
    finally:
        model.train()
