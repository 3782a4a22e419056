"""Direct Preference Optimization (Rafailov et al., 2023) of a LoRA adapter on preference pairs.

`run_dpo(cfg, settings, store)` renders each pair (prompt + chosen, prompt + rejected) with the
model's chat template, labels the response's assistant tokens only, and trains with `train_loop`.
The reference policy is the same network with the trained adapter switched off (no second copy of
the base): the bare base, or, with `sft_adapter`, the base plus a frozen copy of that SFT adapter
while the trained copy moves. The result is one PEFT adapter on the base model, registered with
recipe "dpo" and the SFT adapter as its parent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from rich.console import Console

from tunelab.adapters.errors import AdapterError
from tunelab.adapters.lineage import base_model_hash
from tunelab.adapters.registry import AdapterRegistry
from tunelab.data.records import Message, PreferenceRecord
from tunelab.models.catalogue import resolve_template_arg
from tunelab.models.chat_templates import render_chat
from tunelab.models.loader import load_model, use_bf16
from tunelab.models.peft_loading import attach_adapters
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.train.batching import Batch, epoch_order, pack
from tunelab.train.config import DPOConfig, LoraSettings
from tunelab.train.datasets import data_for
from tunelab.train.lora_fused import fuse_lora_branches
from tunelab.train.losses import target_logits
from tunelab.train.model_setup import count_parameters, lora_branch_fp32, prepare_for_training
from tunelab.train.outputs import plan_steps
from tunelab.train.packed_attention import use_packed_attention
from tunelab.train.session import begin_run, finish_run, run_training
from tunelab.train.tokenize import IGNORE, Example

POLICY, REFERENCE = "default", "reference"  # PEFT adapter keys; "default" saves at the folder's root


# ---------------------------------------------------------------------------------------------
# tokenization


@dataclass
class Pair:
    chosen: Example
    rejected: Example


def _dicts(messages: list[Message]) -> list[dict]:
    return [{"role": m.role, "content": m.content} for m in messages]


def tokenize_response(tokenizer, prompt: list[Message], response: list[Message], *, template: str | None,
                      max_len: int) -> Example:
    """prompt + response rendered with the chat template; labels on the response's assistant turns
    only (their content and end-of-turn token, as the template writes them), IGNORE elsewhere."""
    messages = _dicts(prompt) + _dicts(response)
    full = render_chat(tokenizer, messages, template, add_generation_prompt=False)
    spans: list[tuple[int, int]] = []
    for i in range(len(prompt), len(messages)):
        if messages[i]["role"] != "assistant":
            continue
        before = render_chat(tokenizer, messages[:i], template, add_generation_prompt=True)
        upto = render_chat(tokenizer, messages[:i + 1], template, add_generation_prompt=False)
        if not (full.startswith(upto) and upto.startswith(before)):
            raise ValueError("the chat template is not prefix-stable, so the response cannot be located in the "
                             "rendered conversation; choose another chat_template (e.g. chatml)")
        spans.append((len(before), len(upto)))
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True, truncation=True, max_length=max_len)
    labels = [tok if b > a and any(s <= a < e for s, e in spans) else IGNORE
              for tok, (a, b) in zip(enc["input_ids"], enc["offset_mapping"])]
    return Example(list(enc["input_ids"]), labels)


def tokenize_pairs(tokenizer, records: list, *, template: str | None, max_len: int) -> tuple[list[Pair], int]:
    """(pairs, number dropped): a pair is dropped when truncation to `max_len` leaves chosen or
    rejected without a response token to score."""
    pairs, dropped = [], 0
    for i, r in enumerate(records):
        if not isinstance(r, PreferenceRecord):
            raise ValueError(f"record {i}: DPO trains on preference records (prompt, chosen, rejected), "
                             f"not {r.kind} records")
        pair = Pair(tokenize_response(tokenizer, r.prompt, r.chosen, template=template, max_len=max_len),
                    tokenize_response(tokenizer, r.prompt, r.rejected, template=template, max_len=max_len))
        if all(any(x != IGNORE for x in ex.labels[1:]) for ex in (pair.chosen, pair.rejected)):
            pairs.append(pair)
        else:
            dropped += 1
    return pairs, dropped


# ---------------------------------------------------------------------------------------------
# batches and loss


@dataclass
class PairBatch:
    """n pairs as one packed row of 2n sequences: the n chosen, then the n rejected."""

    seqs: Batch
    n_pairs: int

    @property
    def n_target(self) -> int:  # train_loop divides the summed loss by this: the mean over pairs
        return self.n_pairs


def collate_pairs(pairs: list[Pair]) -> PairBatch:
    return PairBatch(pack([p.chosen for p in pairs] + [p.rejected for p in pairs]), len(pairs))


def pair_batches(pairs: list[Pair], batch_size: int, seed: int, epoch: int) -> list[PairBatch]:
    order = epoch_order(len(pairs), seed, epoch)
    return [collate_pairs([pairs[i] for i in order[k:k + batch_size]]) for k in range(0, len(order), batch_size)]


def sequence_logps(model, batch: Batch) -> torch.Tensor:
    """Summed log-probability of each sequence's labelled tokens -> (n_samples,) float32.

    Position t predicts token t+1. Packed rows (position ids restart at 0 per sample) put only the
    labelled positions through the LM head; a padded batch is summed per row."""
    logits, tgt, keep = target_logits(model, batch)  # (k, V) fp32, (k,)
    device = logits.device
    if batch.position_ids is not None:  # packed: which sample each predicted token belongs to
        segment = ((batch.position_ids[0] == 0).cumsum(0) - 1)[1:][keep[0]]  # (k,)
    else:
        segment = keep.nonzero()[:, 0]
    token_logp = -F.cross_entropy(logits, tgt, reduction="none")  # (k,)
    return torch.zeros(batch.n_samples, device=device).index_add(0, segment.to(device), token_logp)


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-pair sigmoid DPO loss and implicit rewards, all (n,):

        r_c = β · (log π(y_c|x) − log π_ref(y_c|x)),   r_r = β · (log π(y_r|x) − log π_ref(y_r|x))
        loss = −log σ(r_c − r_r)

    so loss = log 2 while the policy equals the reference."""
    chosen_rewards = beta * (policy_chosen - ref_chosen)
    rejected_rewards = beta * (policy_rejected - ref_rejected)
    return -F.logsigmoid(chosen_rewards - rejected_rewards), chosen_rewards.detach(), rejected_rewards.detach()


def reference_context(model, ref_adapter: str | None) -> Callable[[], AbstractContextManager]:
    """How to run the reference policy: the adapter disabled, or the frozen `ref_adapter` active."""
    if ref_adapter is None:
        return model.disable_adapter

    @contextmanager
    def swap():
        # inference_mode: no adapter requires grad while the reference runs; switching back makes
        # the policy adapter trainable again (the optimizer holds the same tensors)
        model.set_adapter(ref_adapter, inference_mode=True)
        try:
            yield
        finally:
            model.set_adapter(POLICY)

    return swap


def pair_logps(model, pb: PairBatch, reference: Callable[[], AbstractContextManager]):
    """(policy, reference) log-probs of the 2n sequences; the reference first, without gradients."""
    with torch.no_grad(), reference():
        ref = sequence_logps(model, pb.seqs)
    return sequence_logps(model, pb.seqs), ref


# ---------------------------------------------------------------------------------------------
# the recipe


def _start_from_sft(cfg: DPOConfig, loaded, registry: AdapterRegistry, base_hash: str | None):
    """The policy: a trainable copy of the SFT adapter; the reference: a frozen copy of it."""

    info = registry.get(cfg.sft_adapter)
    if info.kind != "lora":
        raise AdapterError(f"DPO starts from a LoRA adapter; '{info.name}' is a {info.kind} adapter. For a fully "
                           f"fine-tuned model, register its folder as a model (tunelab models add NAME FOLDER) "
                           f"and set base_model: NAME.")
    if info.base_model != cfg.base_model:
        raise AdapterError(f"Adapter '{info.name}' was trained on base model '{info.base_model}', but this config's "
                           f"base_model is '{cfg.base_model}'; set base_model: {info.base_model}.")
    if info.base_model_hash and base_hash and info.base_model_hash != base_hash:
        raise AdapterError(f"The weights of base model '{cfg.base_model}' changed since adapter '{info.name}' was "
                           "trained on them; DPO on top of it would start from a different model.")
    torch.manual_seed(cfg.seed)
    base = loaded.model
    base.config.use_cache = False
    if cfg.gradient_checkpointing:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        base.enable_input_require_grads()
    model = attach_adapters(loaded, {POLICY: info.path, REFERENCE: info.path})
    model.set_adapter(POLICY)  # trainable; the reference copy stays frozen
    return model


def run_dpo(cfg: DPOConfig, settings: Settings, store: Store, *, console: Console | None = None,
            run_id: str | None = None, resume: bool = False, stop=None) -> dict:
    """Train; returns {"run_id", "adapter", "metrics"}. With `resume`, `run_id` names the run to continue."""
    ctx = begin_run(cfg, settings, store, console=console, run_id=run_id, resume=resume, stop=stop)
    console, registry = ctx.console, ctx.registry
    if cfg.sft_adapter and not resume:
        registry.get(cfg.sft_adapter)  # an unknown one: an error listing the registered adapters
    data = data_for(cfg, settings, store, console)
    for records, ref in ((data.train, cfg.dataset), (data.eval, cfg.eval_dataset or cfg.dataset)):
        kinds = sorted({r.kind for r in records} - {"preference"})
        if kinds:  # before loading any model
            raise ValueError(f"{ref} holds {' and '.join(kinds)} records; DPO trains on preference pairs "
                             "(prompt, chosen, rejected)")
    loaded = load_model(cfg.base_model, settings, store=store)
    template = resolve_template_arg(cfg.chat_template) or loaded.spec.chat_template
    tok = loaded.tokenizer
    train_pairs, dropped = tokenize_pairs(tok, data.train, template=template, max_len=cfg.max_seq_len)
    eval_pairs, eval_dropped = tokenize_pairs(tok, data.eval, template=template, max_len=cfg.max_seq_len)
    if not train_pairs:
        raise ValueError(f"No preference pair of {cfg.dataset} keeps a response token within "
                         f"max_seq_len={cfg.max_seq_len}; raise max_seq_len.")
    if dropped or eval_dropped:
        console.print(f"[yellow]{dropped + eval_dropped} pair(s) left out: max_seq_len={cfg.max_seq_len} "
                      "truncates their chosen or rejected response away[/]")
    base_hash = base_model_hash(loaded.path, cache_dir=settings.home / "cache")
    if cfg.sft_adapter:
        model = _start_from_sft(cfg, loaded, registry, base_hash)
        reference = reference_context(model, REFERENCE)
        # A job's recipe comes back with every field filled in: only LoRA settings that differ from the
        # defaults were asked for.
        if "lora" in cfg.model_fields_set and cfg.lora != LoraSettings() and not resume:
            console.print(f"[yellow]lora settings ignored: DPO goes on training adapter '{cfg.sft_adapter}' "
                          "with its own rank and target modules[/]")
    else:
        model = prepare_for_training(loaded.model, method="lora", lora=cfg.lora,
                                     gradient_checkpointing=cfg.gradient_checkpointing, seed=cfg.seed)
        reference = reference_context(model, None)
    use_packed_attention(model)  # pairs are packed rows: each sequence's attention alone

    def batches(epoch: int) -> list[PairBatch]:
        return pair_batches(train_pairs, cfg.batch_size, cfg.seed, epoch)

    def loss_fn(m, pb: PairBatch):
        policy, ref = pair_logps(m, pb, reference)
        n = pb.n_pairs
        losses, _, _ = dpo_loss(policy[:n], policy[n:], ref[:n], ref[n:], cfg.beta)
        return losses.sum(), n, pb.seqs.n_tokens

    eval_batches = [collate_pairs(eval_pairs[i:i + cfg.batch_size]) for i in range(0, len(eval_pairs), cfg.batch_size)]
    eval_ref: dict[int, torch.Tensor] = {}  # the reference never changes: score it once

    def evaluate() -> dict[str, float]:
        loss = correct = margin = chosen = rejected = 0.0
        for i, pb in enumerate(eval_batches):
            if i not in eval_ref:
                with reference():
                    eval_ref[i] = sequence_logps(model, pb.seqs)
            policy, ref, n = sequence_logps(model, pb.seqs), eval_ref[i], pb.n_pairs
            losses, rc, rr = dpo_loss(policy[:n], policy[n:], ref[:n], ref[n:], cfg.beta)
            loss += float(losses.sum())
            correct += float((rc > rr).sum())
            margin += float((rc - rr).sum())
            chosen += float(rc.sum())
            rejected += float(rr.sum())
        n = len(eval_pairs)
        return {"eval_loss": loss / n, "eval_reward_accuracy": correct / n, "eval_reward_margin": margin / n,
                "eval_reward_chosen": chosen / n, "eval_reward_rejected": rejected / n}

    trainable, total = count_parameters(model)
    n_batches = math.ceil(len(train_pairs) / cfg.batch_size)
    total_steps = plan_steps(n_batches, cfg)
    start = f"SFT adapter {cfg.sft_adapter}" if cfg.sft_adapter else cfg.base_model
    console.print(f"Run [bold]{ctx.run_id}[/]: DPO (beta {cfg.beta}) from {start}, {len(train_pairs)} train / "
                  f"{len(eval_pairs)} eval pairs, {total_steps} steps, {trainable:,} of {total:,} parameters trained")
    bf16 = use_bf16(cfg.precision, loaded.device)
    if bf16:
        lora_branch_fp32(model)
    fuse_lora_branches(model)
    result, metrics = run_training(ctx, model, total_steps=total_steps, bf16=bf16, batches=batches, loss_fn=loss_fn,
                                   evaluate=evaluate if eval_batches else None, device=loaded.device,
                                   trainable=trainable)
    if cfg.sft_adapter:
        model.delete_adapter(REFERENCE)  # save the trained copy only
    return finish_run(ctx, model, tok, result=result, metrics=metrics, kind="lora", base_model_hash=base_hash,
                      lineage={"datasets": data.lineage, "base_model_path": loaded.path,
                               "parents": [cfg.sft_adapter] if cfg.sft_adapter else []})
