"""Quality against speed of the default model (SmolLM2-135M) held three ways: fp32, bf16, and int8
(`tunelab serve --quantize int8`: Linear layers in int8 through torch's fbgemm kernels), loaded
with `tunelab.models.loader.load_model` side by side in this one process.

For each: perplexity on held-out text (the e-commerce sample's validation listings, the first
--ppl-tokens tokens), how often its next-token choice on that text equals fp32's, single-stream
greedy decode tokens/s (one chat prompt, a warm-up first, --rounds rounds interleaved across the
variants so that a busy CPU slows each alike; the best round counts), the bytes of its weights and
the resident memory one load of it adds (in a process of its own, after a forward pass), and the
classify task on the first --classify test products of the sample (the eval's task through the
batching engine: accuracy, top-5 accuracy, same category as fp32; fp32 and int8 by default).
Prints the table, then the ratio int8 tokens/s over fp32; the last line is JSON.

    python bench/quantized.py [--ppl-tokens 3000] [--decode-tokens 48] [--rounds 3] [--classify 20]
                              [--variants fp32,bf16,int8] [--classify-on fp32,int8] [--threads 1]
                              [--home DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tunelab.serve.system_info import cpu_name

MODEL = "smollm2-135m-instruct"
PROMPT = "Write a short product description for a green tea gift set."


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def load(variant: str, settings):
    import torch

    from tunelab.models.loader import load_model

    if variant == "int8":
        return load_model(MODEL, settings, quantization="int8")
    return load_model(MODEL, settings, dtype=torch.bfloat16 if variant == "bf16" else torch.float32)


def part_memory(variant: str, home: str, threads: int | None) -> dict:
    """In a process of its own: the resident memory one load of `variant` adds, once a forward pass
    has touched every weight (fp32 weights stay memory-mapped from the checkpoint until read)."""
    import torch
    import transformers  # noqa: F401  # imported before the baseline is read

    from tunelab.models.int8 import weight_bytes
    from tunelab.settings import Settings

    if threads:
        torch.set_num_threads(threads)
    gc.collect()
    before = rss()
    loaded = load(variant, Settings(home=Path(home), hub_offline=True))
    with torch.inference_mode():
        loaded.model(input_ids=torch.tensor([loaded.tokenizer("A green tea gift set.").input_ids]))
    gc.collect()
    return {"weight_bytes": weight_bytes(loaded.model), "rss_added": rss() - before}


def memory(variant: str, home: Path, threads: int | None) -> dict:
    cmd = [sys.executable, __file__, "--part-memory", variant, "--home", str(home)]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def held_out_ids(tokenizer, n_tokens: int) -> list[list[int]]:
    """The sample's validation listings, tokenized, in file order, until n_tokens (the last cut)."""
    from tunelab.tasks.ecommerce.datasets import load_sample_products

    out, total = [], 0
    for product in load_sample_products("validation"):
        ids = tokenizer(product.text()).input_ids[: n_tokens - total]
        if len(ids) > 1:
            out.append(ids)
            total += len(ids)
        if total >= n_tokens:
            break
    return out


def perplexity(model, texts: list[list[int]]) -> tuple[float, list]:
    """exp(mean next-token NLL) over every text, and each text's argmax choices."""
    import torch
    import torch.nn.functional as F

    nll, n, choices = 0.0, 0, []
    with torch.inference_mode():
        for ids in texts:
            x = torch.tensor([ids])
            logits = model(input_ids=x).logits[0, :-1].float()
            nll += F.cross_entropy(logits, x[0, 1:], reduction="sum").item()
            n += len(ids) - 1
            choices.append(logits.argmax(-1))
    return math.exp(nll / n), choices


def decode_tokens_per_s(loaded, prompt_ids: list[int], n: int) -> float:
    """Greedy decode of exactly n tokens after the prompt (EOS not honoured), timed without the prefill."""
    import torch
    from transformers import DynamicCache

    with torch.inference_mode():
        cache = DynamicCache()
        out = loaded.model(input_ids=torch.tensor([prompt_ids]), cache=cache, use_cache=True,
                           logits_to_keep=1)
        start = time.perf_counter()
        for _ in range(n):
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            out = loaded.model(input_ids=nxt, cache=cache, use_cache=True, logits_to_keep=1)
        return n / (time.perf_counter() - start)


async def classify(loaded, settings, store, n: int) -> tuple[dict, list]:
    """classify metrics on the first n test products (the eval's task, through the batching engine)
    and the category predicted for each."""
    from tunelab.eval.config import EvalConfig
    from tunelab.eval.tasks import classify as task
    from tunelab.tasks.local import open_task_models

    config = EvalConfig(task="classify", models=[MODEL], split="test", limit=n)
    examples = task.load_examples(config)
    ctx = await task.prepare(config, settings)
    async with open_task_models([MODEL], settings, store, loaded={MODEL: loaded}) as [model]:
        outputs = list(await asyncio.gather(*(task.predict(model, ex, ctx) for ex in examples)))
    return task.score(examples, {"m": outputs}, ctx).metrics["m"], [o["id"] for o in outputs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ppl-tokens", type=int, default=3000, help="held-out tokens scored for perplexity")
    ap.add_argument("--decode-tokens", type=int, default=48, help="tokens decoded per timed round")
    ap.add_argument("--rounds", type=int, default=3, help="timed decode rounds per variant (best counts)")
    ap.add_argument("--classify", type=int, default=20, help="test products classified (0: skip)")
    ap.add_argument("--variants", default="fp32,bf16,int8")
    ap.add_argument("--classify-on", default="fp32,int8", help="variants the classify task runs on")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1: on a busy 2-core machine two threads wait on each other "
                         "whenever another process takes a core, and rounds vary tenfold; 0: torch's choice)")
    ap.add_argument("--home", help="TuneLab home with the default model converted (default: a temp one)")
    ap.add_argument("--part-memory", help=argparse.SUPPRESS)  # internal: one variant's memory, in a child
    args = ap.parse_args()
    if args.part_memory:
        print(json.dumps(part_memory(args.part_memory, args.home, args.threads)))
        return
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if "fp32" not in variants or "int8" not in variants or not set(variants) <= {"fp32", "bf16", "int8"}:
        raise SystemExit("--variants: fp32 and int8 (the ratio's two sides), optionally bf16")
    classify_on = [v for v in variants if v in args.classify_on.split(",")] if args.classify else []

    import torch

    from tunelab.settings import Settings
    from tunelab.store import Store

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.home) if args.home else Path(tmp) / "home"
        settings = Settings(home=home, hub_offline=True, torch_threads=args.threads or None)
        store = Store(settings)
        models = {v: load(v, settings) for v in variants}  # fp32 first (it converts the GGUF when needed)
        rows = {v: memory(v, home, args.threads) for v in variants}
        tok = models["fp32"].tokenizer
        texts = held_out_ids(tok, args.ppl_tokens)
        ref_choices = None
        for v in variants:  # fp32 first: the others' next-token choices are compared with its
            rows[v]["ppl"], choices = perplexity(models[v].model, texts)
            ref_choices = ref_choices or choices
            same = sum(int((a == b).sum()) for a, b in zip(choices, ref_choices))
            rows[v]["top1_agree"] = same / sum(len(c) for c in ref_choices)
        prompt_ids = tok(models["fp32"].chat_prompt([{"role": "user", "content": PROMPT}])).input_ids
        for v in variants:
            decode_tokens_per_s(models[v], prompt_ids, 8)  # warm-up
            rows[v]["tps_rounds"] = []
        for _ in range(args.rounds):  # interleaved: a burst of load elsewhere slows every variant alike
            for v in variants:
                rows[v]["tps_rounds"].append(decode_tokens_per_s(models[v], prompt_ids, args.decode_tokens))
        ref_pred = None
        for v in variants:
            rows[v]["tokens_per_s"] = max(rows[v]["tps_rounds"])
            if v in classify_on:
                start = time.monotonic()
                metrics, pred = asyncio.run(classify(models[v], settings, store, args.classify))
                ref_pred = ref_pred or pred
                rows[v].update(classify_acc=metrics["accuracy"], classify_top5=metrics["top5_accuracy"],
                               classify_same=sum(a == b for a, b in zip(pred, ref_pred)) / len(pred),
                               classify_s=time.monotonic() - start)
        store.dispose()

    mib = 1024 * 1024
    n_tokens = sum(len(t) for t in texts)
    print(f"SmolLM2-135M-Instruct on {cpu_name()} ({os.cpu_count()} cores, {torch.backends.cpu.get_cpu_capability()}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads); load average now "
          f"{os.getloadavg()[0]:.1f}; {time.monotonic() - started:.0f} s in all")
    print(f"{'':6s} {'ppl':>7s} {'top1=fp32':>9s} {'decode tok/s':>12s} {'weights MiB':>11s} {'RSS+ MiB':>8s} "
          f"{'classify acc':>12s} {'top-5':>5s} {'=fp32':>5s}")
    for v in variants:
        r = rows[v]
        cls = (f"{r['classify_acc']:12.2f} {r['classify_top5']:5.2f} {r['classify_same']:5.2f}" if "classify_acc" in r
               else f"{'-':>12s} {'-':>5s} {'-':>5s}")
        print(f"{v:6s} {r['ppl']:7.2f} {r['top1_agree']:9.3f} {r['tokens_per_s']:12.1f} "
              f"{r['weight_bytes'] / mib:11.0f} {r['rss_added'] / mib:8.0f} {cls}")
    print(f"ppl: {n_tokens} held-out tokens ({len(texts)} validation listings of the sample); top1=fp32: "
          f"next-token choices equal to fp32's; decode: best of {args.rounds} rounds of {args.decode_tokens} "
          f"tokens (" + "; ".join(f"{v} " + " ".join(f"{x:.1f}" for x in rows[v]["tps_rounds"]) for v in variants)
          + f"); classify: first {args.classify} test products, =fp32: same category as fp32")
    ratio = rows["int8"]["tokens_per_s"] / rows["fp32"]["tokens_per_s"]
    print(f"decode speed ratio int8/fp32: {ratio:.2f}x")
    print(json.dumps({"bench": "quantized", "ratio": round(ratio, 3), "threads": torch.get_num_threads(),
                      "ppl_tokens": n_tokens, "decode_tokens": args.decode_tokens, "rounds": args.rounds,
                      "classify_n": args.classify if classify_on else 0,
                      **{f"{v}_{k}": (round(x, 4) if isinstance(x, float) else x) for v, r in rows.items()
                         for k, x in r.items() if k != "tps_rounds"}}))


if __name__ == "__main__":
    main()
