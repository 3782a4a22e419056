"""SFT throughput: a plain transformers Trainer + PEFT script (pads each batch to its longest
sample, no packing: what most tutorials do) against `tunelab train`, same model, data, LoRA
config, schedule and number of samples, each in its own subprocess of this one run.

Prints tokens/s (real tokens, padding excluded), peak RSS and final eval loss (the same
completion-only loss on the same held-out set for both), then the ratio; last line is JSON.

    python bench/train_throughput.py [--samples 160] [--batch-size 4]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from sft_data import make_rows, write_jsonl  # noqa: E402

LORA = {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"}
COMMON = {"learning_rate": 2e-4, "max_seq_len": 512}
SEED = 0  # LoRA initialisation and data order seed, the same for both


def held_out_loss(model, examples) -> float:
    """Completion-only eval loss, computed the same way for both runs (fp32, no autocast)."""
    import torch

    from tunelab.train.batching import pack
    from tunelab.train.losses import causal_lm_loss

    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(examples), 4):
            loss, k, _ = causal_lm_loss(model, pack(examples[i:i + 4]))
            total, n = total + float(loss), n + k
    return total / n


def load_examples(settings, data_dir: Path):
    from tunelab.data import load_dataset
    from tunelab.models.loader import load_model
    from tunelab.train.tokenize import tokenize_records

    loaded = load_model("smollm2-135m-instruct", settings)
    tok = loaded.tokenizer
    train = tokenize_records(tok, load_dataset(data_dir / "train.jsonl").records, template=None, max_len=512)
    held = tokenize_records(tok, load_dataset(data_dir / "eval.jsonl").records, template=None, max_len=512)
    return loaded, train, held


def part_baseline(data_dir: Path, batch_size: int, settings) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

    loaded, train, held = load_examples(settings, data_dir)
    torch.manual_seed(SEED)
    model = get_peft_model(loaded.model, LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=0.0,
                                                    target_modules="all-linear", task_type="CAUSAL_LM"))
    features = [{"input_ids": ex.input_ids, "attention_mask": [1] * len(ex), "labels": ex.labels} for ex in train]
    args = TrainingArguments(output_dir=str(data_dir / "baseline-out"), per_device_train_batch_size=batch_size,
                             num_train_epochs=1, learning_rate=COMMON["learning_rate"], lr_scheduler_type="linear",
                             warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0, logging_steps=10,
                             save_strategy="no", report_to=[], seed=SEED, disable_tqdm=True, use_cpu=True)
    trainer = Trainer(model=model, args=args, train_dataset=features,
                      data_collator=DataCollatorForSeq2Seq(loaded.tokenizer, padding="longest"))
    start = time.monotonic()
    trainer.train()
    wall = time.monotonic() - start
    tokens = sum(len(ex) for ex in train)
    return {"tokens": tokens, "wall_s": wall, "eval_loss": held_out_loss(model, held)}


def part_tunelab(data_dir: Path, batch_size: int, settings, precision: str = "auto", batching: str = "packed") -> dict:
    from tunelab.adapters.registry import AdapterRegistry
    from tunelab.models.loader import load_model
    from tunelab.models.peft_loading import attach_adapters
    from tunelab.store import Store
    from tunelab.train import parse_config, run_recipe

    store = Store(settings)
    cfg = parse_config({"dataset": str(data_dir / "train.jsonl"), "val_fraction": 0, "epochs": 1,
                        "batch_size": batch_size, "lr_scheduler": "linear", "warmup_ratio": 0,
                        "save_every": 10_000, "lora": LORA, "seed": SEED, "precision": precision,
                        "packing": batching == "packed", "group_by_length": batching == "grouped", **COMMON})  # "padded": neither
    result = run_recipe(cfg, settings, store)
    m = result["metrics"]
    _, _, held = load_examples(settings, data_dir)
    model = attach_adapters(load_model("smollm2-135m-instruct", settings),
                            {"a": AdapterRegistry(store, settings).get(result["adapter"]).path})
    return {"tokens": m["train_tokens"], "wall_s": m["wall_time_s"], "eval_loss": held_out_loss(model, held)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=160)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--part", choices=["baseline", "tunelab"], help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"], help="tunelab's precision")
    ap.add_argument("--batching", default="packed", choices=["packed", "grouped", "padded"],
                    help="tunelab's micro-batches: one packed row (the default), right-padded rows of similar length, or plain padded rows")
    ap.add_argument("--home", help="TuneLab home with the default model converted (default: ~/.tunelab)")
    args = ap.parse_args()
    if args.part:
        from tunelab.settings import Settings

        settings = Settings(home=args.home) if args.home else Settings()
        if args.part == "baseline":
            out = part_baseline(Path(args.dir), args.batch_size, settings)
        else:
            out = part_tunelab(Path(args.dir), args.batch_size, settings, args.precision, args.batching)
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("RESULT " + json.dumps(out))
        return
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_jsonl(d / "train.jsonl", make_rows(args.samples, seed=1))
        write_jsonl(d / "eval.jsonl", make_rows(32, seed=2))
        results = {}
        for part in ("baseline", "tunelab"):
            cmd = [sys.executable, __file__, "--part", part, "--dir", tmp, "--batch-size", str(args.batch_size),
                   "--precision", args.precision, "--batching", args.batching]
            if args.home:
                cmd += ["--home", args.home]
            out = subprocess.run(cmd, capture_output=True, text=True)
            line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
            if out.returncode or not line:
                sys.exit(f"{part} failed:\n{out.stderr[-3000:]}")
            r = json.loads(line[-1][7:])
            r["tokens_per_s"] = r["tokens"] / r["wall_s"]
            results[part] = r
            print(f"{part:9s} {r['tokens_per_s']:8.1f} tok/s  {r['wall_s']:7.1f} s  peak RSS {r['peak_rss_mb']:7.0f} MB"
                  f"  eval loss {r['eval_loss']:.4f}")
    ratio = results["tunelab"]["tokens_per_s"] / results["baseline"]["tokens_per_s"]
    loss_change = results["tunelab"]["eval_loss"] / results["baseline"]["eval_loss"] - 1
    print(f"throughput ratio tunelab/baseline: {ratio:.2f}x  (target >= 2.0); "
          f"eval loss {loss_change:+.1%} vs baseline (target <= +2%)")
    print(json.dumps({"bench": "train_throughput", "samples": args.samples, "batch_size": args.batch_size,
                      "precision": args.precision, "batching": args.batching,
                      "ratio": round(ratio, 3), "eval_loss_change": round(loss_change, 4), **{
                          f"{k}_{m}": round(v, 4) for k, r in results.items() for m, v in r.items()}}))


if __name__ == "__main__":
    main()
