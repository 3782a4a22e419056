"""Single-stream decode speed of the default model (SmolLM2-135M-Instruct), side by side in one run:
transformers' `model.generate` (greedy), TuneLab's batching engine with its fast decode path off
(the model's own forward each step) and on (the lean Llama step on a static KV cache), and
llama.cpp through `llama-cpp-python` on the packaged GGUF (Q4_1) when that is installed (reported,
not part of the ratio: other weights, other precision). With fp32 also the engine on the int8 model
(`tunelab serve --quantize int8`, fast path on): at batch 1 a decode step reads every weight once,
so on a CPU its speed is set by bytes per weight (fp32: 538 MB a token), and int8 reads a quarter.

One chat prompt, greedy, --tokens new tokens each (the engine stops at EOS, generate is held to
exactly --tokens); tokens/s counts decode steps only, the prompt's prefill left out on every side
(generate: the time of --tokens + 1 tokens less that of 1). A warm-up first, then --rounds rounds
interleaved across the variants, so that load elsewhere on the machine slows each alike; the best
round counts. Precision: --dtype auto (bf16 where the CPU has AMX or on CUDA, else fp32, as
`tunelab.models.loader.use_bf16` picks), fp32 or bf16; the same weights for every variant. Prints
the machine, a table, the ratio fast engine / generate last; the last line is JSON.

    python bench/decode.py [--tokens 64] [--rounds 3] [--dtype auto|fp32|bf16] [--threads 1] [--home DIR]
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


async def bench(args) -> dict:
    import torch

    from tunelab.engine.batching import BatchingEngine
    from tunelab.models.loader import load_model, resolve_device, use_bf16
    from tunelab.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(args.home) if args.home else Path(tmp) / "home", hub_offline=True,
                            torch_threads=args.threads or None)
        bf16 = use_bf16(args.dtype, resolve_device(settings.device))
        loaded = load_model(MODEL, settings, dtype=torch.bfloat16 if bf16 else torch.float32)
        prompt = loaded.chat_prompt([{"role": "user", "content": PROMPT}])
        prompt_ids = loaded.tokenizer(prompt).input_ids
        ids = torch.tensor([prompt_ids], device=loaded.device)
        slow = BatchingEngine(loaded, adapter_paths=str, fast_decode=False)
        fast = BatchingEngine(loaded, adapter_paths=str, fast_decode=True)
        cpp = llama_cpp_runner(args.threads, prompt)
        int8 = None
        if not bf16 and not args.no_int8:
            int8 = BatchingEngine(load_model(MODEL, settings, quantization="int8"), adapter_paths=str,
                                  fast_decode=True)
        runs = {"generate": lambda n: generate_tps(loaded.model, ids, n),
                "engine_fast_off": lambda n: engine_tps(slow, prompt_ids, n),
                "engine_fast_on": lambda n: engine_tps(fast, prompt_ids, n)}
        if int8 is not None:
            runs["engine_int8_fast_on"] = lambda n: engine_tps(int8, prompt_ids, n)
        if callable(cpp):
            runs["llama_cpp"] = lambda n: (cpp(n), None)
        rounds: dict[str, list[float]] = {v: [] for v in runs}
        tokens: dict[str, list[int]] = {}
        for r in range(args.rounds + 1):  # round 0 is the warm-up
            for name, fn in runs.items():
                out = fn(8 if r == 0 else args.tokens)
                tps, toks = (await out) if asyncio.iscoroutine(out) else out
                if r:
                    rounds[name].append(tps)
                    tokens[name] = toks
        await slow.stop()
        await fast.stop()
        if int8 is not None:
            await int8.stop()
        assert fast.fast_steps > 0, "the fast path never ran"
    n = min(len(tokens["engine_fast_on"]), len(tokens["generate"]))
    return {"dtype": str(loaded.model.dtype).removeprefix("torch."), "device": str(loaded.device),
            "rounds": rounds, "best": {v: max(x) for v, x in rounds.items()},
            "llama_cpp": "measured" if callable(cpp) else cpp,
            "same_tokens": tokens["engine_fast_on"][:n] == tokens["generate"][:n] == tokens["engine_fast_off"][:n],
            "compared_tokens": n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=64, help="new tokens per timed round")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per variant (best counts)")
    ap.add_argument("--dtype", choices=("auto", "fp32", "bf16"), default="auto")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1: on a busy 2-core machine two threads wait on each other "
                         "whenever another process takes a core; 0: torch's choice)")
    ap.add_argument("--no-int8", action="store_true", help="leave out the int8 engine (fp32 runs only)")
    ap.add_argument("--home", help="TuneLab home with the default model converted (default: a temp one)")
    args = ap.parse_args()

    import torch

    from tunelab.models.quiet import quiet_libraries

    quiet_libraries()  # bitsandbytes' notice about an optional CPU kernel package (int8 imports it)
    started = time.monotonic()
    res = asyncio.run(bench(args))
    best = res["best"]
    print(f"SmolLM2-135M-Instruct, {res['dtype']} on {res['device']}: {cpu_name()} ({os.cpu_count()} cores, "
          f"{torch.backends.cpu.get_cpu_capability()}, torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads); load average now {os.getloadavg()[0]:.1f}; {time.monotonic() - started:.0f} s in all")
    for name, x in res["rounds"].items():
        print(f"{name:16s} {best[name]:7.1f} tok/s   rounds " + " ".join(f"{v:.1f}" for v in x))
    if res["llama_cpp"] != "measured":
        print(f"{'llama_cpp':16s} {res['llama_cpp']} (pip install llama-cpp-python to compare)")
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
                      "threads": torch.get_num_threads(), "tokens": args.tokens, "rounds": args.rounds,
                      "same_tokens": res["same_tokens"], "llama_cpp": res["llama_cpp"],
                      **{f"{k}_tps": round(v, 2) for k, v in best.items()}}))


if __name__ == "__main__":
    main()
