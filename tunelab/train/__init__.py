"""Training recipes (sft, dpo, classifier) over one shared loop; see `run_recipe`."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console

from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.train.config import ClassifierConfig, ConfigError, DPOConfig, SFTConfig, load_config, parse_config
from tunelab.train.runs import RunRecorder


def run_recipe(cfg, settings: Settings, store: Store, *, console: Console | None = None,
               run_id: str | None = None, resume: bool = False, stop: Callable[[], bool] | None = None) -> dict:
    """Run any recipe config; returns {"run_id", "adapter", "metrics"}. `stop`: asked after each
    optimizer step; True saves a checkpoint and raises `train.loop.TrainingCancelled`.

    Under torchrun (WORLD_SIZE > 1 in the environment) every process calls this; they join one
    process group and train data-parallel (`train.distributed`)."""
    from tunelab.train import distributed  # lazy: torch is slow to import

    world = distributed.setup(settings.device)
    if not world.enabled:
        return _run(cfg, settings, store, console=console, run_id=run_id, resume=resume, stop=stop)
    try:
        run_id = distributed.join_run(cfg, settings, store, run_id)
        if not world.main:
            console = Console(quiet=True)  # rank 0 prints for all
        return _run(cfg, settings, store, console=console, run_id=run_id, resume=resume, stop=stop)
    finally:
        distributed.shutdown()


def _run(cfg, settings: Settings, store: Store, *, console, run_id, resume, stop) -> dict:
    if isinstance(cfg, SFTConfig):
        from tunelab.train.sft import run_sft  # lazy: torch is slow to import

        return run_sft(cfg, settings, store, console=console, run_id=run_id, resume=resume, stop=stop)
    if isinstance(cfg, DPOConfig):
        from tunelab.train.dpo import run_dpo  # lazy: torch is slow to import

        return run_dpo(cfg, settings, store, console=console, run_id=run_id, resume=resume, stop=stop)
    if isinstance(cfg, ClassifierConfig):
        from tunelab.train.classifier import run_classifier  # lazy: torch is slow to import

        return run_classifier(cfg, settings, store, console=console, run_id=run_id, resume=resume, stop=stop)
    raise TypeError(f"not a recipe config: {type(cfg).__name__}")


def resume_run(run_id: str, settings: Settings, store: Store, *, console: Console | None = None,
               stop: Callable[[], bool] | None = None) -> dict:
    """Continue a run that died, from its last checkpoint, with the config it was started with."""
    run = RunRecorder(store, run_id).get()
    if run.status == "completed":
        raise ValueError(f"Run {run_id} already completed (adapter {run.adapter_name}).")
    return run_recipe(parse_config(run.config, f"run {run_id}"), settings, store, console=console,
                      run_id=run_id, resume=True, stop=stop)


__all__ = ["ConfigError", "SFTConfig", "DPOConfig", "ClassifierConfig", "load_config", "parse_config",
           "run_recipe", "resume_run"]
