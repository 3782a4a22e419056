"""The quickstart: the whole loop on the packaged sample, on a laptop CPU.

Prepare the default model, fine-tune one LoRA adapter for [CLASSIFY], [EXTRACT] and [QA] on the
sample's train split, evaluate base vs adapter on [CLASSIFY] and [EXTRACT] on the test split (same
engine, temperature 0; `tunelab eval --task qa` compares QA), write the reports and a summary
page. Re-running reuses the adapter unless `retrain` is set. The recipe is `quickstart_sft_config`
(examples/ecommerce/sft-lora.yaml is the same recipe as a file).
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tunelab.adapters.registry import AdapterRegistry
from tunelab.eval.config import EvalConfig
from tunelab.eval.results import EvalResult
from tunelab.eval.runner import run_eval
from tunelab.models.catalogue import Catalogue
from tunelab.models.loader import local_path
from tunelab.models.torch_threads import on_own_thread
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.tasks.ecommerce.prompts import build_sft_dataset
from tunelab.train import run_recipe
from tunelab.train.config import SFTConfig

ADAPTER = "ecommerce-quickstart"
TRAIN_TASKS = ("classify", "extract", "qa")  # what the adapter learns: QA from the sample's review snippets too
TASKS = ("classify", "extract")  # what the quickstart evaluates (tunelab eval --task qa compares QA)
STEPS = 40  # 320 examples, about 40% of an epoch: the adapter is clearly better and the whole run stays under 15 min
EVAL_LIMIT = 50  # test examples per task (the first of the fixed split); None: the whole split
HEADLINE = {"classify": ("accuracy", "f1", "hierarchical_f1"), "extract": ("exact_match", "f1", "valid_json")}


def quickstart_sft_config(dataset: str, eval_dataset: str | None, *, base_model: str, adapter_name: str,
                          max_steps: int | None = STEPS) -> SFTConfig:
    """The quickstart's recipe: LoRA r=16 on every linear layer, 8 examples per optimizer step (two
    packed micro-batches of 4: a packed row's attention costs the square of its length, so shorter
    rows are faster on a CPU), STEPS steps (about 40% of the 776 examples), a high learning rate for
    a 135M model."""
    return SFTConfig(
        base_model=base_model, dataset=dataset, eval_dataset=eval_dataset, method="lora",
        lora={"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"},
        epochs=1, max_steps=max_steps, batch_size=4, grad_accum=2, learning_rate=1e-3, lr_scheduler="cosine",
        warmup_ratio=0.05, max_seq_len=384, packing=True, completion_only_loss=True, eval_every=None,
        save_every=25, adapter_name=adapter_name, seed=42,
    )


@dataclass
class QuickstartResult:
    adapter: str
    trained: bool
    train_s: float = 0.0
    train_metrics: dict = field(default_factory=dict)
    evals: dict[str, EvalResult] = field(default_factory=dict)
    summary: Path | None = None
    duration_s: float = 0.0


def prepare_data(folder: Path) -> tuple[Path, Path]:
    """The sample's train and validation splits as SFT chat JSONL (classify, extract and qa)."""
    train, val = folder / "sft-train.jsonl", folder / "sft-validation.jsonl"
    build_sft_dataset("train", TRAIN_TASKS, path=train)
    build_sft_dataset("validation", TRAIN_TASKS, path=val)
    return train, val


def train_adapter(settings: Settings, store: Store, *, base_model: str, adapter_name: str, retrain: bool,
                  max_steps: int | None = STEPS, console=None) -> tuple[bool, dict]:
    """(trained now?, run metrics). An adapter of that name is reused unless `retrain`."""
    registry = AdapterRegistry(store, settings)
    if registry.exists(adapter_name):
        if not retrain:
            return False, registry.get(adapter_name).metrics
        registry.remove(adapter_name)
    train, val = prepare_data(settings.home / "quickstart" / "data")
    cfg = quickstart_sft_config(str(train), str(val), base_model=base_model, adapter_name=adapter_name,
                                max_steps=max_steps)
    out = run_recipe(cfg, settings, store, console=console)
    return True, out.get("metrics", {})


async def evaluate(settings: Settings, store: Store, *, base_model: str, adapter_name: str, limit: int | None,
                   progress_for: Callable | None = None) -> dict[str, EvalResult]:
    """Base vs adapter on the test split, for each task; reports under <home>/quickstart/reports/."""
    results = {}
    for task in TASKS:
        cfg = EvalConfig(task=task, models=[base_model, adapter_name], split="test", limit=limit,
                         out=str(settings.home / "quickstart" / "reports" / task))
        if progress_for is None:
            results[task] = await run_eval(cfg, settings, store)
        else:
            with progress_for(f"eval {task}") as progress:
                results[task] = await run_eval(cfg, settings, store, progress=progress)
    return results


def write_summary(result: QuickstartResult, path: Path) -> Path:
    """One page: the headline metrics of both tasks, base vs adapter, linking each task's report."""
    rows = []
    for task, ev in result.evals.items():
        base, cand = ev.models[0], ev.models[-1]
        for metric in HEADLINE[task]:
            b, c = ev.metrics[base].get(metric), ev.metrics[cand].get(metric)
            if b is None or c is None:
                continue
            rows.append(f"<tr><td>{task}</td><td>{metric}</td><td>{b:.4f}</td><td><b>{c:.4f}</b></td>"
                        f"<td>{c - b:+.4f}</td></tr>")
    links = "".join(f'<li><a href="reports/{t}/report.html">{t} report</a></li>' for t in result.evals)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>TuneLab quickstart</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}td:first-child,td:nth-child(2){{text-align:left}}</style>
</head><body><h1>TuneLab quickstart</h1>
<p>Base model vs the LoRA adapter <code>{html.escape(result.adapter)}</code>, test split of the packaged sample.</p>
<table><tr><th>task</th><th>metric</th><th>base</th><th>adapter</th><th>delta</th></tr>{''.join(rows)}</table>
<ul>{links}</ul></body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def run_quickstart(settings: Settings, store: Store, *, base_model: str | None = None, adapter_name: str = ADAPTER,
                   retrain: bool = False, max_steps: int | None = STEPS, limit: int | None = EVAL_LIMIT, console=None,
                   progress_for: Callable | None = None, stage: Callable[[str], None] = lambda _m: None
                   ) -> QuickstartResult:
    started = time.perf_counter()
    base_model = base_model or settings.default_model
    stage(f"Preparing the base model {base_model}")
    # conversion and training on a thread that ends: the evaluation's engine thread is then the one
    # OpenMP team of the process and decodes at full speed (models/torch_threads.py)
    on_own_thread(lambda: local_path(Catalogue(store).get(base_model), settings))  # converts the GGUF once
    stage(f"Fine-tuning the LoRA adapter {adapter_name} on the sample's train split ({', '.join(TRAIN_TASKS)})")
    t0 = time.perf_counter()
    trained, metrics = on_own_thread(lambda: train_adapter(settings, store, base_model=base_model,
                                                           adapter_name=adapter_name, retrain=retrain,
                                                           max_steps=max_steps, console=console))
    result = QuickstartResult(adapter=adapter_name, trained=trained, train_s=time.perf_counter() - t0,
                              train_metrics=metrics)
    if not trained:
        stage(f"Reusing the adapter {adapter_name} (--retrain trains it again)")
    stage("Evaluating base vs adapter on the test split")
    result.evals = asyncio.run(evaluate(settings, store, base_model=base_model, adapter_name=adapter_name,
                                        limit=limit, progress_for=progress_for))
    result.summary = write_summary(result, settings.home / "quickstart" / "report.html")
    result.duration_s = time.perf_counter() - started
    return result
