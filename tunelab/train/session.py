"""The parts of a training run every recipe shares: claim the adapter name, run the loop with the
run recorded in the store, then save, register and close. A recipe only builds its model, data
and loss."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from tunelab.adapters.lineage import library_versions
from tunelab.adapters.registry import AdapterRegistry
from tunelab.progress import OutputConsole
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.train import distributed
from tunelab.train.loop import LoopResult, LoopSettings, TrainingCancelled, train_loop
from tunelab.train.outputs import save_result
from tunelab.train.packed_attention import restore_sdpa
from tunelab.train.runs import QuietRecorder, RunRecorder, new_run_id
from tunelab.train.tracking import check_mlflow


@dataclass
class RunContext:
    cfg: object
    settings: Settings
    store: Store
    console: Console
    registry: AdapterRegistry
    run_id: str
    adapter_name: str
    resume: bool
    recorder: RunRecorder | None = None
    stop: Callable[[], bool] | None = None  # asked after each step: True checkpoints and cancels

    @property
    def run_dir(self) -> Path:
        return self.settings.home / "runs" / self.run_id


def begin_run(cfg, settings: Settings, store: Store, *, console: Console | None, run_id: str | None,
              resume: bool, stop: Callable[[], bool] | None = None) -> RunContext:
    """Name the run and its adapter; refuse a taken name or a missing MLflow before any work."""
    registry = AdapterRegistry(store, settings)
    run_id = run_id or new_run_id(cfg.recipe)
    adapter_name = cfg.adapter_name or run_id
    if not resume:
        registry.check_new_name(adapter_name)
    if cfg.mlflow:
        check_mlflow()
    return RunContext(cfg, settings, store, console or OutputConsole(stderr=True), registry, run_id, adapter_name,
                      resume, stop=stop)


def run_training(ctx: RunContext, model, *, total_steps: int, bf16: bool, batches, loss_fn, evaluate, device,
                 trainable: int) -> tuple[LoopResult, dict]:
    """Run the shared loop with the run recorded; a failure is recorded (and re-raised)."""
    cfg = ctx.cfg
    world = distributed.current()
    if world.main:
        ctx.recorder = RunRecorder.start(ctx.store, cfg, run_id=ctx.run_id, base_model=cfg.base_model,
                                         output_dir=str(ctx.run_dir), total_steps=total_steps, resume=ctx.resume)
    else:
        ctx.recorder = QuietRecorder(ctx.store, ctx.run_id)
    loop = LoopSettings(total_steps=total_steps, grad_accum=cfg.grad_accum, learning_rate=cfg.learning_rate,
                        lr_scheduler=cfg.lr_scheduler, warmup_steps=int(cfg.warmup_ratio * total_steps),
                        weight_decay=cfg.weight_decay, max_grad_norm=cfg.max_grad_norm, bf16=bf16,
                        save_every=cfg.save_every, eval_every=cfg.eval_every, log_every=cfg.log_every,
                        progress_interval_s=ctx.settings.progress_interval_s,
                        shard=getattr(cfg, "method", None) == "full")
    try:
        result = train_loop(model, settings=loop, batches=batches, loss_fn=loss_fn, evaluate=evaluate,
                            recorder=ctx.recorder, ckpt_dir=ctx.run_dir / "checkpoints", device=device,
                            console=ctx.console, resume=ctx.resume, stop=ctx.stop)
    except TrainingCancelled as exc:
        ctx.recorder.fail(f"{exc}; resume with: tunelab train --resume {ctx.run_id}")
        raise
    except KeyboardInterrupt:
        ctx.recorder.fail("interrupted; resume with: tunelab train --resume " + ctx.run_id)
        raise
    except Exception as exc:
        ctx.recorder.fail(f"{type(exc).__name__}: {exc}")
        raise
    metrics = {**result.final_metrics, "train_tokens": result.train_tokens, "wall_time_s": result.wall_time_s,
               "trainable_parameters": trainable, "bf16": bf16, "world_size": world.size}
    return result, metrics


def finish_run(ctx: RunContext, model, tokenizer, *, result: LoopResult, metrics: dict, kind: str,
               base_model_hash: str | None, lineage: dict) -> dict:
    """Save the result atomically, register it with its lineage, close the run, drop checkpoints.
    Distributed: rank 0 does it while the others wait at a barrier."""
    cfg = ctx.cfg
    restore_sdpa(model)  # the saved config (full fine-tuning) names transformers' own attention
    full = result.engine.full_state_dict() if result.engine is not None else None  # sharded: a collective
    out = {"run_id": ctx.run_id, "adapter": ctx.adapter_name, "metrics": metrics}
    if not distributed.current().main:
        distributed.barrier()
        return out
    folder = save_result(model, tokenizer, cfg, ctx.registry.path_for(ctx.adapter_name), state_dict=full)
    lineage = {"recipe": cfg.recipe, **lineage, "config": cfg.model_dump(mode="json"), "seed": cfg.seed,
               "versions": library_versions()}
    ctx.registry.register(ctx.adapter_name, kind=kind, path=folder, base_model=cfg.base_model,
                          base_model_hash=base_model_hash, run_id=ctx.run_id, lineage=lineage, metrics=metrics,
                          wall_time_s=result.wall_time_s)
    ctx.recorder.finish(metrics, ctx.adapter_name)
    shutil.rmtree(ctx.run_dir / "checkpoints", ignore_errors=True)
    ctx.console.print(f"Registered {kind} adapter [bold]{ctx.adapter_name}[/]: " +
                      ", ".join(f"{k} {v:.4f}" for k, v in result.final_metrics.items()))
    distributed.barrier()
    return out
