"""Serving throughput: 16 concurrent streaming clients spread over 4 LoRA adapters of the default
model, against (a) a naive server that serves one request at a time and swaps the adapter per
request (`tunelab serve --engine sequential`, what the projects we replace do) and (b) `tunelab
serve` with its continuous-batching engine, each started on 127.0.0.1 in this one run.

Prints aggregate output tokens/s, p50/p95 latency and time to first token for each, then the
ratio; the last line is JSON.

    python bench/serve_throughput.py [--clients 16] [--adapters 4] [--max-tokens 48]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROMPTS = ["Describe a good pair of running shoes.", "What should I look for in a water bottle?",
           "Write a short product description for green tea.", "How do I choose a desk lamp?"]


def make_adapters(home: Path, n: int, base: str = "smollm2-135m-instruct") -> list[str]:
    """n random LoRA adapters for catalogue model `base` (default: the default model), registered in
    `home` (the engine's work is the same whatever the weights are)."""
    import torch
    from peft import LoraConfig, get_peft_model

    from tunelab.adapters.registry import AdapterRegistry
    from tunelab.models.loader import load_model
    from tunelab.settings import Settings
    from tunelab.store import Store

    settings = Settings(home=home)
    store = Store(settings)
    registry = AdapterRegistry(store, settings)
    names = []
    for i in range(n):
        loaded = load_model(base, settings, store=store)
        torch.manual_seed(i)
        peft = get_peft_model(loaded.model, LoraConfig(r=8, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                                       init_lora_weights=False))
        name = f"bench-a{i}"
        peft.save_pretrained(registry.path_for(name))
        registry.register(name, kind="lora", path=registry.path_for(name), base_model=base)
        names.append(name)
    return names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(xs: list[float], q: float) -> float:
    """The q-quantile of sorted `xs` (nearest rank, as every bench here reports it)."""
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def start_server(home: Path, engine: str, extra_args: tuple[str, ...] = ("--no-embeddings",)
                 ) -> tuple[subprocess.Popen, str]:
    """`tunelab serve` on 127.0.0.1 (a free port) with home `home`, as a second process; returns it
    and its URL once /health answers."""
    port = free_port()
    env = {**os.environ, "TUNELAB_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "tunelab", "serve", "--port", str(port), "--engine", engine,
                             "--log-level", "warning", "--max-loaded-adapters", "8", *extra_args],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{engine} server died:\n{proc.stderr.read()[-3000:]}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    sys.exit(f"{engine} server did not start")


async def one_client(client, model: str, prompt: str, max_tokens: int) -> dict:
    start = time.monotonic()
    first, tokens = None, 0
    stream = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens, temperature=0,
        stream=True, stream_options={"include_usage": True})
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content and first is None:
            first = time.monotonic() - start
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
    return {"latency": time.monotonic() - start, "ttft": first or 0.0, "tokens": tokens}


async def load(url: str, adapters: list[str], clients: int, max_tokens: int) -> dict:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url + "/v1", api_key="none", timeout=600)
    await one_client(client, adapters[0], PROMPTS[0], 4)  # warm-up: first-use adapter load
    start = time.monotonic()
    results = await asyncio.gather(*(one_client(client, adapters[i % len(adapters)], PROMPTS[i % len(PROMPTS)],
                                                max_tokens) for i in range(clients)))
    wall = time.monotonic() - start
    lat = sorted(r["latency"] for r in results)
    ttft = sorted(r["ttft"] for r in results)
    tokens = sum(r["tokens"] for r in results)
    return {"tokens": tokens, "wall_s": wall, "tokens_per_s": tokens / wall, "p50_latency_s": statistics.median(lat),
            "p95_latency_s": percentile(lat, 0.95), "p50_ttft_s": statistics.median(ttft), "p95_ttft_s": percentile(ttft, 0.95)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--adapters", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--home", help="TuneLab home with the default model converted (default: a temp copy)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        if args.home:  # reuse the converted default model instead of converting again
            (home / "models").mkdir(parents=True)
            src = Path(args.home) / "models" / "smollm2-135m-instruct"
            os.symlink(src, home / "models" / "smollm2-135m-instruct")
        adapters = make_adapters(home, args.adapters)
        results = {}
        for label, engine in (("naive", "sequential"), ("tunelab", "batching")):
            proc, url = start_server(home, engine)
            try:
                results[label] = asyncio.run(load(url, adapters, args.clients, args.max_tokens))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            r = results[label]
            print(f"{label:8s} {r['tokens_per_s']:7.1f} tok/s  latency p50 {r['p50_latency_s']:6.2f} s "
                  f"p95 {r['p95_latency_s']:6.2f} s  TTFT p50 {r['p50_ttft_s']:6.2f} s p95 {r['p95_ttft_s']:6.2f} s")
    ratio = results["tunelab"]["tokens_per_s"] / results["naive"]["tokens_per_s"]
    print(f"throughput ratio tunelab/naive: {ratio:.2f}x  (target >= 4.0)")
    print(json.dumps({"bench": "serve_throughput", "clients": args.clients, "adapters": args.adapters,
                      "max_tokens": args.max_tokens, "ratio": round(ratio, 3),
                      **{f"{k}_{m}": round(v, 4) for k, r in results.items() for m, v in r.items()}}))


if __name__ == "__main__":
    main()
