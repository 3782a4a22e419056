"""Single-stream decode speed of the default model (SmolLM2-135M-Instruct), side by side in one run:
transformers' `model.generate` (greedy), TuneLab's batching engine with its fast decode path off
(the model's own forward each step) and on (the lean Llama step on a static KV cache), and
llama.cpp through `llama-cpp-python` on the packaged GGUF (Q4_1) when that is installed (reported,
not part of the ratio: other weights, other precision). With fp32 also the engine on the int8 model
(`tunelab serve --quantize int8`, fast path on): at batch 1 a decode step reads every weight once,
so on a CPU its speed is set by bytes per weight (fp32: 538 MB a token), and int8 reads a quarter.

One chat prompt, greedy, --tokens new tokens each (the engine stops at EOS, generate is held to
exactly --tokens); tokens/s counts decode steps only, the prompt's prefill left out on every side
(generate: the time of --tokens + 1 tokens less that of 1). Each variant runs in a process of its
own (see `measure`: two threads running torch in one process slow each other down), a warm-up
first, then --rounds rounds interleaved across the variants, so that load elsewhere on the machine
slows each alike; the best round counts. Precision: --dtype auto (bf16 where the CPU has AMX or on CUDA, else fp32, as
`tunelab.models.loader.use_bf16` picks), fp32 or bf16; the same weights for every variant. Prints
the machine, a table, the ratio fast engine / generate last; the last line is JSON.

    python bench/decode.py [--tokens 64] [--rounds 3] [--dtype auto|fp32|bf16] [--threads 0] [--home DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from quantized import MODEL, PROMPT

from tunelab.serve.system_info import cpu_name


def generate_tps(model, ids, n: int) -> tuple[float, list[int]]:
    """transformers' generate, greedy, exactly n new tokens: decode tokens/s (prefill subtracted), tokens."""
    import torch

    def run(k: int):
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(ids, max_new_tokens=k, min_new_tokens=k, do_sample=False)
        return time.perf_counter() - start, out[0, ids.shape[1]:].tolist()

    one, _ = run(1)
    full, tokens = run(n + 1)
    return n / max(full - one, 1e-9), tokens


async def engine_tps(engine, prompt_ids: list[int], n: int) -> tuple[float, list[int]]:
    """One request alone through the engine: tokens/s from its first token (the prefill's) to its last."""
    from tunelab.engine.sampling import SamplingParams
    from tunelab.engine.types import GenRequest

    req = GenRequest(request_id="bench", prompt_ids=prompt_ids,
                     params=SamplingParams(max_tokens=n + 1, temperature=0, loop_guard=False))
    tokens, first = [], 0.0
    async for ev in engine.generate(req):
        if ev.token_id is not None:
            tokens.append(ev.token_id)
            if len(tokens) == 1:
                first = time.perf_counter()
    return (len(tokens) - 1) / max(time.perf_counter() - first, 1e-9), tokens


def llama_cpp_runner(threads: int, prompt: str):
    """A function (n -> tokens/s) on the packaged GGUF, or the reason there is none."""
    try:
        from llama_cpp import Llama
    except ImportError:
        return "not installed"
    from tunelab.models.packaged import smollm2_gguf

    llm = Llama(model_path=str(smollm2_gguf()), n_threads=threads or os.cpu_count(), n_ctx=1024, verbose=False)
    def run(n: int) -> float:  # the same rendered chat prompt; one streamed chunk per token
        llm.reset()
        first, count = None, 0
        for _ in llm.create_completion(prompt, max_tokens=n + 1, temperature=0, stream=True):
            count += 1
            first = first or time.perf_counter()
        return (count - 1) / max(time.perf_counter() - first, 1e-9) if first else 0.0

    return run


VARIANTS = ("generate", "engine_fast_off", "engine_fast_on", "engine_int8_fast_on", "llama_cpp")


def _load(args, quantization: str = "none", *, own_thread: bool):
    """(the loaded model, the prompt's ids). `own_thread`: load on a thread that then ends, as the
    server does (its lifespan loads on a worker thread that idles out), so the engine's model thread
    is the one thread with an OpenMP team (see measure())."""
    import threading

    import torch

    from tunelab.models.loader import load_model, resolve_device, use_bf16
    from tunelab.settings import Settings

    settings = Settings(home=Path(args.home), hub_offline=True, torch_threads=args.threads or None)
    bf16 = use_bf16(args.dtype, resolve_device(settings.device))
    dtype = None if quantization != "none" else torch.bfloat16 if bf16 else torch.float32
    box = {}
    load = lambda: box.update(m=load_model(MODEL, settings, quantization=quantization, dtype=dtype))  # noqa: E731
    if own_thread:
        t = threading.Thread(target=load)
        t.start()
        t.join()
    else:
        load()
    loaded = box["m"]
    return loaded, loaded.tokenizer(loaded.chat_prompt([{"role": "user", "content": PROMPT}])).input_ids


async def measure(args, variant: str) -> dict:
    """One variant, in a process of its own: a warm-up, then one timed run of --tokens.

    Why a process each: libgomp (torch's OpenMP) spins only briefly when a process has more OpenMP
    threads than CPUs, and every thread that runs a parallel torch op keeps a team of its own. With
    generate on the main thread and an engine's model thread in one process, both decode at about
    half speed on a 2-core CPU (15 against 29 tokens/s for the engine on the Xeon of the README)."""
    import torch

    if variant == "llama_cpp":
        from tunelab.models.loader import load_model
        from tunelab.settings import Settings

        loaded = load_model(MODEL, Settings(home=Path(args.home), hub_offline=True), dtype=torch.float32)
        cpp = llama_cpp_runner(args.threads, loaded.chat_prompt([{"role": "user", "content": PROMPT}]))
        if not callable(cpp):
            return {"skipped": cpp}
        cpp(8)
        return {"tps": cpp(args.tokens), "tokens": None}
    if variant == "generate":
        loaded, prompt_ids = _load(args, own_thread=False)
        ids = torch.tensor([prompt_ids], device=loaded.device)
        generate_tps(loaded.model, ids, 8)
        tps, tokens = generate_tps(loaded.model, ids, args.tokens)
        return {"tps": tps, "tokens": tokens, "dtype": str(loaded.model.dtype).removeprefix("torch."),
                "device": str(loaded.device)}
    from tunelab.engine.batching import BatchingEngine

    loaded, prompt_ids = _load(args, "int8" if variant == "engine_int8_fast_on" else "none", own_thread=True)
    engine = BatchingEngine(loaded, adapter_paths=str, fast_decode=variant != "engine_fast_off")
    await engine_tps(engine, prompt_ids, 8)
    tps, tokens = await engine_tps(engine, prompt_ids, args.tokens)
    await engine.stop()
    if variant != "engine_fast_off":
        assert engine.fast_steps > 0, "the fast path never ran"
    return {"tps": tps, "tokens": tokens}


def bench(args) -> dict:
    """Every variant in its own process, rounds interleaved across the variants (so that load
    elsewhere on the machine slows each alike); the best round counts."""
    import subprocess
    import sys

    from tunelab.models.loader import resolve_device, use_bf16
    from tunelab.settings import Settings

    bf16 = use_bf16(args.dtype, resolve_device(Settings().device))  # int8 is compared with fp32 only
    variants = [v for v in VARIANTS if v != "engine_int8_fast_on" or not (args.no_int8 or bf16)]
    rounds: dict[str, list[float]] = {v: [] for v in variants}
    tokens: dict[str, list[int]] = {}
    info, skipped = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or str(Path(tmp) / "home")
        for _ in range(args.rounds):
            for v in [v for v in variants if v not in skipped]:
                cmd = [sys.executable, __file__, "--variant", v, "--home", home, "--tokens", str(args.tokens),
                       "--dtype", args.dtype, "--threads", str(args.threads)]
                out = subprocess.run(cmd, capture_output=True, text=True)
                line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
                if out.returncode or not line:
                    raise SystemExit(f"{v} failed:\n{out.stderr[-3000:]}")
                r = json.loads(line[-1][7:])
                if "skipped" in r:
                    skipped[v] = r["skipped"]
                    continue
                rounds[v].append(r["tps"])
                tokens[v] = r["tokens"]
                info.update({k: r[k] for k in ("dtype", "device") if k in r})
    rounds = {v: x for v, x in rounds.items() if x}
    n = min(len(tokens["engine_fast_on"]), len(tokens["generate"]))
    return {**info, "rounds": rounds, "best": {v: max(x) for v, x in rounds.items()},
            "llama_cpp": skipped.get("llama_cpp", "measured"),
            "same_tokens": tokens["engine_fast_on"][:n] == tokens["generate"][:n] == tokens["engine_fast_off"][:n],
            "compared_tokens": n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=64, help="new tokens per timed round")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per variant (best counts)")
    ap.add_argument("--dtype", choices=("auto", "fp32", "bf16"), default="auto")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch CPU threads (default 0: torch's choice, one per core)")
    ap.add_argument("--no-int8", action="store_true", help="leave out the int8 engine (fp32 runs only)")
    ap.add_argument("--home", help="TuneLab home with the default model converted (default: a temp one)")
    ap.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = ap.parse_args()

    import torch

    from tunelab.models.quiet import quiet_libraries

    quiet_libraries()  # bitsandbytes' notice about an optional CPU kernel package (int8 imports it)
    if args.variant:
        print("RESULT " + json.dumps(asyncio.run(measure(args, args.variant))))
        return
    started = time.monotonic()
    res = bench(args)
    best = res["best"]
    print(f"SmolLM2-135M-Instruct, {res['dtype']} on {res['device']}: {cpu_name()} ({os.cpu_count()} cores, "
          f"{torch.backends.cpu.get_cpu_capability()}, torch {torch.__version__}, {args.threads or torch.get_num_threads()} "
          f"threads); load average now {os.getloadavg()[0]:.1f}; {time.monotonic() - started:.0f} s in all")
    for name, x in res["rounds"].items():
        print(f"{name:20s} {best[name]:7.1f} tok/s   rounds " + " ".join(f"{v:.1f}" for v in x))
    if res["llama_cpp"] != "measured":
        print(f"{'llama_cpp':20s} {res['llama_cpp']} (pip install llama-cpp-python to compare)")
    print(f"greedy tokens equal across generate and both engine paths (first {res['compared_tokens']}): "
          f"{res['same_tokens']}")
    print(f"fast path / model forward in the engine: {best['engine_fast_on'] / best['engine_fast_off']:.2f}x")
    ratio = best["engine_fast_on"] / best["generate"]
    extra = {}
    if "engine_int8_fast_on" in best:
        extra["ratio_int8"] = round(best["engine_int8_fast_on"] / best["generate"], 3)
        print(f"int8 engine (fast path) / fp32 transformers generate: {extra['ratio_int8']:.2f}x "
              "(other weights: see bench/quantized.py for what int8 costs in quality)")
    print(f"decode speed ratio engine (fast path) / transformers generate, same weights: {ratio:.2f}x")
    print(json.dumps({"bench": "decode", "ratio": round(ratio, 3), **extra, "dtype": res["dtype"],
                      "threads": args.threads or torch.get_num_threads(), "tokens": args.tokens, "rounds": args.rounds,
                      "same_tokens": res["same_tokens"], "llama_cpp": res["llama_cpp"],
                      **{f"{k}_tps": round(v, 2) for k, v in best.items()}}))


if __name__ == "__main__":
    main()
