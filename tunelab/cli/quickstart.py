"""`tunelab quickstart`: fine-tune an e-commerce adapter on the packaged sample and prove it got
better (base vs adapter on the test split), then say how to serve it."""

from __future__ import annotations

from typing import Annotated

import typer

from tunelab.cli.common import console, console_err, settings, store
from tunelab.cli.errors import user_errors
from tunelab.cli.eval import print_comparison
from tunelab.cli.jobs import submit_detached
from tunelab.progress import Progress
from tunelab.recipes.quickstart import run_quickstart


def quickstart(
    model: Annotated[str | None, typer.Option("--model", "-m", help="Base model (default: the packaged SmolLM2-135M-Instruct).")] = None,
    adapter: Annotated[str, typer.Option("--adapter", help="Registry name of the adapter it trains.")] = "ecommerce-quickstart",
    retrain: Annotated[bool, typer.Option("--retrain", help="Train again even when the adapter exists.")] = False,
    max_steps: Annotated[int, typer.Option("--max-steps", min=0, help="Optimizer steps of 8 examples (0: one whole epoch, 74 steps).")] = 40,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Test examples evaluated per task (0: the whole test split).")] = 50,
    detach: Annotated[bool, typer.Option("--detach", help="Queue it as a background job instead (prints the job id).")] = False,
) -> None:
    """Prepare the model, fine-tune a LoRA adapter for product classification and attribute
    extraction on the sample's train split, compare base vs adapter on its test split, write the
    HTML report, and print the command that serves the adapter."""
    if detach:
        with user_errors():
            submit_detached("quickstart", {"model": model, "adapter": adapter, "retrain": retrain,
                                           "max_steps": max_steps, "limit": limit})
        return
    steps = iter(range(1, 10))

    def stage(message: str) -> None:
        console_err.print(f"[bold cyan][{next(steps)}][/] {message}")

    with user_errors():
        result = run_quickstart(settings(), store(), base_model=model, adapter_name=adapter, retrain=retrain,
                                max_steps=max_steps or None, limit=limit or None, console=console_err,
                                progress_for=lambda d: Progress(console_err, d, interval_s=settings().progress_interval_s),
                                stage=stage)
    for ev in result.evals.values():
        print_comparison(ev)
    if result.trained:
        console.print(f"trained {result.adapter} in {result.train_s:.0f} s")
    console.print(f"report: {result.summary}")
    for task, ev in result.evals.items():
        console.print(f"  {task}: {ev.params.get('out')}/report.html")
    base = model or settings().default_model
    console.print(f"done in {result.duration_s / 60:.1f} min. Serve the adapter with:\n"
                  f"  tunelab serve --model {base}\n"
                  f"and classify through it:\n"
                  f"  curl -s localhost:8000/v1/tasks/classify -H 'content-type: application/json' "
                  f"-d '{{\"model\": \"{result.adapter}\", \"input\": \"Stainless steel chef knife, 8 inch\"}}'",
                  soft_wrap=True, markup=False)
