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
from tunelab.train import distributed
from tunelab.train.checkpoint import latest_checkpoint, read_checkpoint, restore_rng, save_checkpoint
from tunelab.train.parallel import Engine, make_engine
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
    shard: bool = False  # distributed: FSDP (full fine-tuning) instead of DDP


@dataclass
class LoopResult:
    final_metrics: dict[str, float] = field(default_factory=dict)
    train_tokens: int = 0
    wall_time_s: float = 0.0
    engine: Engine | None = None  # how the model ran (a sharded one is gathered to save the result)


def fusable(params) -> bool:
    """Whether AdamW's fused kernel takes `params`: plain floating tensors on a CPU or CUDA (not the
    sharded DTensors of FSDP). One kernel over all of a LoRA adapter's ~400 small tensors instead of
    a Python loop over them: ~4x faster optimizer steps on a CPU."""
    return bool(params) and all(type(p) in (torch.nn.Parameter, torch.Tensor) and p.is_floating_point()
                                and p.device.type in ("cpu", "cuda") for p in params)


def train_loop(model, *, settings: LoopSettings, batches: Callable[[int], list], loss_fn: LossFn,
               evaluate: Callable[[], dict[str, float]] | None, recorder: RunRecorder, ckpt_dir: Path,
               device: torch.device, console: Console, resume: bool = False,
               stop: Callable[[], bool] | None = None) -> LoopResult:
    """`stop`: asked after each optimizer step; True saves a checkpoint and raises TrainingCancelled.

    Distributed (see `train.distributed`): each optimizer step takes grad_accum x world micro-batches
    of the global order; rank r runs those at positions r, r + world, ... Every rank knows the
    target tokens of the whole step, so the averaged gradient is the one-process gradient of the
    same global batch. Only rank 0 records metrics and writes checkpoints."""
    world = distributed.current()
    engine = make_engine(model, loss_fn, shard=settings.shard)
    params = engine.params()
    optimizer = torch.optim.AdamW(params, lr=settings.learning_rate, weight_decay=settings.weight_decay,
                                  fused=fusable(params) or None)
    step, tokens_done = _resume(engine, optimizer, ckpt_dir, world, console, recorder.run_id) if resume else (0, 0)
    recorder.rewind(step)
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if settings.bf16 else nullcontext
    per_step = settings.grad_accum * world.size
    epoch_cache: dict[int, list] = {}

    def micro(m: int):
        first = epoch_cache.setdefault(0, batches(0))
        epoch, index = divmod(m, len(first))
        if epoch not in epoch_cache:
            epoch_cache.clear()
            epoch_cache[0] = first
            epoch_cache[epoch] = batches(epoch)
        return epoch_cache[epoch][index]

    def checkpoint() -> Path:
        recorder.flush()  # the store's step and metrics reach at least the checkpoint
        state = engine.checkpoint_state(optimizer)  # a collective when sharded
        path = ckpt_dir / f"step-{step:06d}"
        if state is not None:
            path = save_checkpoint(ckpt_dir, step, *state, {"tokens": tokens_done, "world_size": world.size})
        distributed.barrier()  # no rank goes on (or stops) before the checkpoint is complete
        return path

    result = LoopResult()
    started = time.monotonic()
    session_tokens = 0
    evaluate = evaluate if (world.main or settings.shard) else None  # sharded: every rank takes part
    model.train()
    with Progress(console, "train", total=settings.total_steps, completed=step, noun="step", rate_unit=None,
                  fields={"loss": "loss {}", "tps": "{} tok/s"}, interval_s=settings.progress_interval_s) as progress:
        while step < settings.total_steps:
            group = [micro(step * per_step + k) for k in range(per_step)]
            n_target = sum(b.n_target for b in group)
            mine = group[world.rank::world.size]
            lr = lr_at(step, settings.total_steps, settings.warmup_steps, settings.learning_rate, settings.lr_scheduler)
            for g in optimizer.param_groups:
                g["lr"] = lr
            loss_total, step_tokens = 0.0, 0
            for i, b in enumerate(mine):
                with engine.sync(last=i == len(mine) - 1):
                    with autocast():
                        loss_sum, _, n_tok = engine(b)
                    # gradients are averaged over ranks: scale back to the sum over the global batch
                    (loss_sum * (world.size / max(1, n_target))).backward()
                loss_total += float(loss_sum.detach())
                step_tokens += n_tok
            if world.enabled:
                loss_total, step_tokens = distributed.sum_floats(loss_total, step_tokens)
                step_tokens = int(step_tokens)
            tokens_done += step_tokens
            session_tokens += step_tokens
            grad_norm = engine.clip(params, settings.max_grad_norm) if settings.max_grad_norm else None
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            loss = loss_total / max(1, n_target)
            tps = session_tokens / max(1e-9, time.monotonic() - started)
            metrics = {"train_loss": loss, "lr": lr, "tokens_per_s": tps}
            if grad_norm is not None:
                metrics["grad_norm"] = grad_norm
            if evaluate and settings.eval_every and step % settings.eval_every == 0 and step < settings.total_steps:
                metrics.update(_eval(model, evaluate, autocast, engine))
            if step % settings.log_every == 0 or step == settings.total_steps or "eval_loss" in metrics:
                recorder.log(step, metrics)
            progress.update(step, loss=f"{loss:.4f}", tps=f"{tps:,.0f}")
            if step % settings.save_every == 0 and step < settings.total_steps:
                checkpoint()
            asked = stop is not None and step < settings.total_steps and stop()
            if world.enabled and stop is not None:
                asked = distributed.any_rank(asked)
            if asked:
                recorder.flush()
                raise TrainingCancelled(step, checkpoint())
    result.final_metrics = {"train_loss": loss if settings.total_steps else float("nan")}
    if evaluate:
        final_eval = _eval(model, evaluate, autocast, engine)
        recorder.log(step, final_eval)
        result.final_metrics.update(final_eval)
    result.train_tokens = tokens_done
    result.wall_time_s = time.monotonic() - started
    result.engine = engine
    return result


def _resume(engine: Engine, optimizer, ckpt_dir: Path, world, console: Console, run_id: str) -> tuple[int, int]:
    """(step, tokens) of the latest checkpoint, loaded into every rank; rank 0 reads the files."""
    found = latest_checkpoint(ckpt_dir) if world.main else None
    weights, extra = read_checkpoint(found) if found is not None else (None, None)
    meta = distributed.broadcast(None if extra is None else {k: v for k, v in extra.items() if k != "optimizer"})
    if meta is None:
        return 0, 0
    state = meta["state"]
    saved_world = state.get("world_size", 1)
    if saved_world != world.size:
        raise ValueError(f"run {run_id} was trained on {saved_world} process(es); resume it on as many "
                         f"(--nproc {saved_world}), so its global batch and data order stay the same")
    engine.load_weights_and_optimizer(weights, None if extra is None else extra["optimizer"], optimizer)
    restore_rng(meta)
    console.print(f"Resuming {run_id} from step-{state['step']:06d}")
    return state["step"], state.get("tokens", 0)


def _eval(model, evaluate, autocast, engine: Engine) -> dict[str, float]:
    model.eval()
    try:
        with torch.no_grad(), autocast(), engine.evaluating():
            return evaluate()
    finally:
        model.train()
