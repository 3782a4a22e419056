"""Text classification: full fine-tune of a small encoder (the packaged MiniLM by default) with a
classification head, on classification records (text, label), with cross-entropy.

`run_classifier(cfg, settings, store)` takes the label set from the training data (sorted; integer
class ids numerically), trains with `train_loop` on padded micro-batches, reports eval loss,
accuracy and macro F1, and saves a complete model folder (weights, config with the label names,
tokenizer), registered as a "classifier" adapter. Load it with
`tunelab.models.encoders.load_encoder_classifier(folder)` and call `.predict(texts)`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from rich.console import Console

from tunelab.adapters.lineage import model_fingerprint
from tunelab.data.records import ClassificationRecord, Record
from tunelab.eval.metrics import accuracy, macro_f1
from tunelab.models.encoders import check_labels, load_encoder_classifier, resolve_encoder
from tunelab.models.loader import resolve_device, use_bf16
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.train.batching import epoch_order
from tunelab.train.config import ClassifierConfig
from tunelab.train.datasets import data_for
from tunelab.train.model_setup import count_parameters
from tunelab.train.outputs import plan_steps
from tunelab.train.session import begin_run, finish_run, run_training


def classification_records(records: list[Record], dataset: str, role: str) -> list[ClassificationRecord]:
    if not records:
        raise ValueError(f"The {role} data of {dataset} holds no records.")
    for i, r in enumerate(records):
        if not isinstance(r, ClassificationRecord):
            raise ValueError(f"{dataset}: record {i} is a {r.kind} record; the classifier recipe trains on "
                             "classification records (columns text and label)")
    return records  # type: ignore[return-value]


def label_names(records: list[ClassificationRecord]) -> list[str]:
    """The label set, sorted: integer class ids numerically, names alphabetically; as strings."""
    values = {r.label for r in records}
    if all(isinstance(v, int) for v in values):
        return [str(v) for v in sorted(values)]
    return sorted({str(v) for v in values})


@dataclass
class TextBatch:
    inputs: dict[str, torch.Tensor]  # input_ids, attention_mask (+ token_type_ids): (n, longest)
    labels: torch.Tensor  # (n,) class ids
    n_tokens: int

    @property
    def n_target(self) -> int:  # train_loop divides the summed loss by this: the mean over texts
        return len(self.labels)


def encode(tokenizer, records: list[ClassificationRecord], label2id: dict[str, int], max_len: int) -> list[dict]:
    enc = tokenizer([r.text for r in records], truncation=True, max_length=max_len)
    return [{**{k: enc[k][i] for k in enc.keys()}, "label": label2id[str(r.label)]} for i, r in enumerate(records)]


def collate(tokenizer, features: list[dict]) -> TextBatch:
    labels = torch.tensor([f["label"] for f in features])
    inputs = tokenizer.pad([{k: v for k, v in f.items() if k != "label"} for f in features], padding=True,
                           return_tensors="pt")
    return TextBatch(dict(inputs), labels, int(inputs["attention_mask"].sum()))


def classification_loss(model, batch: TextBatch) -> tuple[torch.Tensor, int, int]:
    """Summed cross-entropy over the batch's texts -> (loss_sum, n_texts, n_tokens)."""
    device = next(model.parameters()).device
    logits = model(**{k: v.to(device) for k, v in batch.inputs.items()}).logits  # (n, labels)
    return F.cross_entropy(logits.float(), batch.labels.to(device), reduction="sum"), len(batch.labels), batch.n_tokens


def _fingerprint(folder: Path, settings: Settings) -> str:
    """The encoder's weights hash, cached under the home dir (the packaged one sits in site-packages)."""
    cache_dir = settings.home / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:16]
    return model_fingerprint(folder, cache=cache_dir / f"encoder-{key}.fingerprint.json")


def run_classifier(cfg: ClassifierConfig, settings: Settings, store: Store, *, console: Console | None = None,
                   run_id: str | None = None, resume: bool = False, stop=None) -> dict:
    """Train; returns {"run_id", "adapter", "metrics"}. With `resume`, `run_id` names the run to continue."""
    ctx = begin_run(cfg, settings, store, console=console, run_id=run_id, resume=resume, stop=stop)
    folder = resolve_encoder(cfg.base_model)
    data = data_for(cfg, settings, store, ctx.console)
    train = classification_records(data.train, cfg.dataset, "training")
    held = classification_records(data.eval, cfg.eval_dataset or cfg.dataset, "eval") if data.eval else []
    labels = label_names(train)
    if len(labels) < 2:
        raise ValueError(f"{cfg.dataset}: the training data has a single label ({labels[0]!r}); a classifier "
                         "needs examples of at least 2 labels.")
    unseen = sorted({str(r.label) for r in held} - set(labels))
    if unseen:
        raise ValueError(f"Eval labels {unseen} never occur in the training data of {cfg.dataset}, so the "
                         f"classifier cannot predict them; training labels: {labels}.")
    check_labels(labels)
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    device = resolve_device(settings.device)
    torch.manual_seed(cfg.seed)  # the fresh head's initialisation
    clf = load_encoder_classifier(folder, labels, device=device)
    model, tok = clf.model, clf.tokenizer
    for p in model.parameters():
        p.requires_grad_(True)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    label2id = {n: i for i, n in enumerate(labels)}
    train_ex = encode(tok, train, label2id, cfg.max_seq_len)
    eval_ex = encode(tok, held, label2id, cfg.max_seq_len)

    def batches(epoch: int) -> list[TextBatch]:
        order = epoch_order(len(train_ex), cfg.seed, epoch)
        return [collate(tok, [train_ex[i] for i in order[k:k + cfg.batch_size]])
                for k in range(0, len(order), cfg.batch_size)]

    eval_batches = [collate(tok, eval_ex[i:i + cfg.batch_size]) for i in range(0, len(eval_ex), cfg.batch_size)]

    def evaluate() -> dict[str, float]:
        loss, preds, refs = 0.0, [], []
        for b in eval_batches:
            logits = model(**{k: v.to(device) for k, v in b.inputs.items()}).logits.float()
            loss += float(F.cross_entropy(logits, b.labels.to(device), reduction="sum"))
            preds += [labels[i] for i in logits.argmax(-1).tolist()]
            refs += [labels[i] for i in b.labels.tolist()]
        return {"eval_loss": loss / len(refs), "eval_accuracy": accuracy(preds, refs),
                "eval_macro_f1": macro_f1(preds, refs)}

    trainable, total = count_parameters(model)
    total_steps = plan_steps(math.ceil(len(train_ex) / cfg.batch_size), cfg)
    ctx.console.print(f"Run [bold]{ctx.run_id}[/]: classifier on {cfg.base_model}, {len(labels)} labels, "
                      f"{len(train_ex)} train / {len(eval_ex)} eval texts, {total_steps} steps, "
                      f"{trainable:,} parameters trained")
    result, metrics = run_training(ctx, model, total_steps=total_steps, bf16=use_bf16(cfg.precision, device),
                                   batches=batches, loss_fn=classification_loss,
                                   evaluate=evaluate if eval_batches else None, device=device, trainable=trainable)
    model.eval()
    return finish_run(ctx, model, tok, result=result, metrics=metrics, kind="classifier",
                      base_model_hash=_fingerprint(folder, settings),
                      lineage={"labels": labels, "datasets": data.lineage, "base_model_path": str(folder)})
