"""Supervised fine-tuning: LoRA, QLoRA or full, on chat or text records.

`run_sft(cfg, settings, store)` loads the base model, tokenizes with its chat template (loss on
assistant tokens), trains with `train_loop`, saves the adapter in PEFT format (or the full model)
and registers it with its lineage. `resume_run(run_id, ...)` continues from the last checkpoint.
"""

from __future__ import annotations

import math

import torch
from rich.console import Console

from tunelab.adapters.lineage import base_model_hash
from tunelab.models.catalogue import resolve_template_arg
from tunelab.models.loader import load_model, resolve_device, use_bf16
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.train.batching import batches_for_epoch, pack, pad
from tunelab.train.config import SFTConfig
from tunelab.train.datasets import data_for
from tunelab.train.lora_fused import fuse_lora_branches
from tunelab.train.losses import causal_lm_loss
from tunelab.train.model_setup import count_parameters, lora_branch_fp32, prepare_for_training
from tunelab.train.outputs import plan_steps
from tunelab.train.packed_attention import use_packed_attention
from tunelab.train.session import begin_run, finish_run, run_training
from tunelab.train.tokenize import tokenize_records


def run_sft(cfg: SFTConfig, settings: Settings, store: Store, *, console: Console | None = None,
            run_id: str | None = None, resume: bool = False, stop=None) -> dict:
    """Train; returns {"run_id", "adapter", "metrics"}. With `resume`, `run_id` names the run to continue."""
    ctx = begin_run(cfg, settings, store, console=console, run_id=run_id, resume=resume, stop=stop)
    data = data_for(cfg, settings, store, ctx.console)
    bf16 = use_bf16(cfg.precision, resolve_device(settings.device))
    # LoRA under bf16 autocast: keep the frozen base in bf16 (no per-step weight casts, half the
    # memory); the adapter stays fp32 (PEFT upcasts it). Full fine-tuning keeps fp32 master weights.
    base_dtype = torch.bfloat16 if bf16 and cfg.method == "lora" else None
    loaded = load_model(cfg.base_model, settings, store=store, quantization=cfg.quantization, dtype=base_dtype)
    template = resolve_template_arg(cfg.chat_template) or loaded.spec.chat_template
    tok = loaded.tokenizer
    train_ex = tokenize_records(tok, data.train, template=template, max_len=cfg.max_seq_len,
                                completion_only=cfg.completion_only_loss)
    eval_ex = tokenize_records(tok, data.eval, template=template, max_len=cfg.max_seq_len,
                               completion_only=cfg.completion_only_loss)
    if not train_ex:
        raise ValueError(f"No training example of {cfg.dataset} has a target token within max_seq_len={cfg.max_seq_len}.")
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    collate = pack if cfg.packing else (lambda exs: pad(exs, pad_id))

    def batches(epoch: int):
        return [collate(group) for group in batches_for_epoch(train_ex, cfg.batch_size, cfg.seed, epoch,
                                                                       cfg.group_by_length)]

    held = sorted(eval_ex, key=len) if cfg.group_by_length else eval_ex  # the summed loss is order-free
    eval_batches = [collate(held[i:i + cfg.batch_size]) for i in range(0, len(held), cfg.batch_size)]

    def evaluate() -> dict[str, float]:
        total, n = 0.0, 0
        for b in eval_batches:
            loss_sum, k, _ = causal_lm_loss(model, b)
            total, n = total + float(loss_sum), n + k
        loss = total / max(1, n)
        return {"eval_loss": loss, "eval_perplexity": math.exp(min(loss, 50))}

    model = prepare_for_training(loaded.model, method=cfg.method, lora=cfg.lora,
                                 gradient_checkpointing=cfg.gradient_checkpointing, seed=cfg.seed)
    if bf16 and cfg.method != "full":
        lora_branch_fp32(model)
    fuse_lora_branches(model)  # the LoRA sum inside the GEMM (no layer changes under full fine-tuning)
    if cfg.packing:
        use_packed_attention(model)  # each packed sample's attention alone (finish_run switches back)
    trainable, total = count_parameters(model)
    n_batches = math.ceil(len(train_ex) / cfg.batch_size)
    total_steps = plan_steps(n_batches, cfg)
    ctx.console.print(f"Run [bold]{ctx.run_id}[/]: {cfg.method} on {cfg.base_model}, {len(train_ex)} train / "
                      f"{len(eval_ex)} eval examples, {total_steps} steps, {trainable:,} of {total:,} parameters "
                      f"trained{', packed' if cfg.packing else ''}{', grouped by length' if cfg.group_by_length else ''}")
    result, metrics = run_training(ctx, model, total_steps=total_steps, bf16=bf16, batches=batches,
                                   loss_fn=causal_lm_loss, evaluate=evaluate if eval_batches else None,
                                   device=loaded.device, trainable=trainable)
    return finish_run(ctx, model, tok, result=result, metrics=metrics, kind="full" if cfg.method == "full" else "lora",
                      base_model_hash=base_model_hash(loaded.path, cache_dir=settings.home / "cache"),
                      lineage={"datasets": data.lineage, "base_model_path": loaded.path})
