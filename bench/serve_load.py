"""Serving under load: a mixed workload against one `tunelab serve` at rising concurrency until
latency p95 doubles against the first step.

The script starts the server as a second process on 127.0.0.1 (the batching engine, the embedding
model on, no job worker) with a tiny random model it builds (tests/tiny_model.py), or `--model` a
catalogue model (`--model smollm2-135m-instruct`: the packaged default), and two LoRA adapters it
makes. Each client loops over five kinds of request, spread over the base and both adapters: chat,
streaming chat, constrained JSON (`response_format` json_schema), `/v1/tasks/classify` and
`/v1/embeddings`. Concurrency goes 1, 2, 4, 8, ... (each step `--step-seconds` of closed-loop
clients, and at least `--min-requests`) until p95 reaches twice step 1's, `--max-concurrency`, or
`--max-seconds` in all.

Prints per step: requests/s, generated tokens/s, p50/p95/p99 latency, 429s (the queue said full:
counted apart), other errors (there must be none: the exit status is 1 otherwise) and the server's
peak resident memory; then the ratio of the best step's requests/s to step 1's. The last line is JSON.

    python bench/serve_load.py [--model smollm2-135m-instruct] [--step-seconds 20] [--max-seconds 900]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from tunelab.serve.system_info import cpu_name

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from serve_throughput import PROMPTS, make_adapters, percentile, start_server  # noqa: E402

KINDS = ("chat", "stream", "json", "classify", "embed")
PRODUCTS = ["Orthopedic memory foam dog bed, large, washable cover", "Wireless over-ear headphones with noise cancelling",
            "8 inch stainless steel chef knife", "Men's cotton crew neck t-shirt, navy"]
SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 40},
                                           "price": {"type": "number"}, "in_stock": {"type": "boolean"}},
          "required": ["name", "price", "in_stock"], "additionalProperties": False}


def prepare_home(home: Path, model: str | None, reuse_home: str | None) -> str:
    """Register the model to serve in `home` (the tiny one built here unless `model`); its name."""
    from tunelab.models.catalogue import Catalogue
    from tunelab.settings import Settings
    from tunelab.store import Store

    home.mkdir(parents=True, exist_ok=True)
    if model is not None:
        if reuse_home:  # the converted default model of another home, instead of converting again
            (home / "models").mkdir(exist_ok=True)
            os.symlink(Path(reuse_home) / "models" / model, home / "models" / model)
        return model
    from tiny_model import build_tiny_model

    folder = build_tiny_model(home.parent / "tiny-llama")
    store = Store(Settings(home=home))
    Catalogue(store).add("tiny", str(folder))
    store.engine.dispose()
    return "tiny"


def request_for(kind: str, i: int, models: list[str], embed_model: str, max_tokens: int) -> tuple[str, dict]:
    model = models[i % len(models)]
    prompt = PROMPTS[i % len(PROMPTS)]
    chat = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
            "temperature": 0}
    if kind == "chat":
        return "/v1/chat/completions", chat
    if kind == "stream":
        return "/v1/chat/completions", {**chat, "stream": True, "stream_options": {"include_usage": True}}
    if kind == "json":  # 3x the budget: the schema's keys alone take 32 tokens of the tiny model's vocabulary
        return "/v1/chat/completions", {
            **chat, "max_tokens": 3 * max_tokens, "messages": [{"role": "user", "content": f"Describe as JSON: {PRODUCTS[i % len(PRODUCTS)]}"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "product", "schema": SCHEMA}}}
    if kind == "classify":
        return "/v1/tasks/classify", {"model": model, "input": PRODUCTS[i % len(PRODUCTS)], "top_k": 3,
                                      "candidates": 10}
    return "/v1/embeddings", {"model": embed_model, "input": PRODUCTS[:2] + [prompt], "encoding_format": "float"}


async def send(client, kind: str, path: str, body: dict) -> tuple[int, int, str]:
    """(HTTP status, generated tokens, error text) of one request; a streamed one is read to its end."""
    if kind == "stream":
        tokens, status = 0, 0
        async with client.stream("POST", path, json=body) as resp:
            status = resp.status_code
            if status != 200:
                return status, 0, (await resp.aread()).decode()[:300]
            async for line in resp.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    usage = json.loads(line[6:]).get("usage")
                    if usage:
                        tokens = usage["completion_tokens"]
        return status, tokens, ""
    resp = await client.post(path, json=body)
    if resp.status_code != 200:
        return resp.status_code, 0, resp.text[:300]
    data = resp.json()
    if kind == "json":
        try:
            json.loads(data["choices"][0]["message"]["content"])  # constrained: always parses
        except ValueError:
            return 200, 0, f"invalid JSON: {json.dumps(data['choices'][0])[:300]}"
    if kind == "classify" and not all(r["id"] is not None for r in data["data"]):
        return 200, 0, "classify answered no category"
    return 200, (data.get("usage") or {}).get("completion_tokens", 0) if kind in ("chat", "json") else 0, ""


async def client_loop(client, worker: int, stop_at: float, min_requests: int, deadline: float, models: list[str],
                      embed_model: str, max_tokens: int, out: list[dict]) -> None:
    """Requests back to back until `stop_at` and `min_requests` done in the step (a slow model's step
    runs longer, so its percentiles stand on enough requests), never past `deadline`."""
    i = worker  # each client starts at another kind and model, then cycles through them all
    while (time.monotonic() < stop_at or len(out) < min_requests) and time.monotonic() < deadline:
        kind = KINDS[i % len(KINDS)]
        path, body = request_for(kind, i // len(KINDS) + worker, models, embed_model, max_tokens)
        start = time.monotonic()
        try:
            status, tokens, error = await send(client, kind, path, body)
        except Exception as exc:  # a dropped connection, a timeout, an unparsable answer: an error
            status, tokens, error = -1, 0, f"{type(exc).__name__}: {exc}"
        out.append({"kind": kind, "status": status, "tokens": tokens, "latency": time.monotonic() - start,
                    "error": error})
        i += 1


class PeakRSS:
    """Samples a process's resident memory in a thread; `peak` is the most seen since `reset()`."""

    def __init__(self, pid: int, every_s: float = 0.25) -> None:
        import psutil

        self.proc, self.every_s, self.peak = psutil.Process(pid), every_s, 0
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except Exception:  # the server exited: the step reports what it saw
                return

    def reset(self) -> None:
        self.peak = self.proc.memory_info().rss

    def stop(self) -> None:
        self._stop.set()


async def run_step(url: str, concurrency: int, seconds: float, min_requests: int, deadline: float,
                   models: list[str], embed_model: str, max_tokens: int) -> tuple[list[dict], float]:
    import httpx

    out: list[dict] = []
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        start = time.monotonic()
        await asyncio.gather(*(client_loop(client, w, start + seconds, min_requests, deadline, models, embed_model,
                                           max_tokens, out) for w in range(concurrency)))
        return out, time.monotonic() - start


def summarize(concurrency: int, results: list[dict], wall: float, rss: int) -> dict:
    ok = [r for r in results if r["status"] == 200 and not r["error"]]
    lat = sorted(r["latency"] for r in ok) or [float("nan")]
    errors = [r for r in results if r["status"] != 429 and (r["status"] != 200 or r["error"])]
    return {"concurrency": concurrency, "requests": len(ok), "req_per_s": len(ok) / wall,
            "tokens_per_s": sum(r["tokens"] for r in ok) / wall, "p50_s": statistics.median(lat),
            "p95_s": percentile(lat, 0.95), "p99_s": percentile(lat, 0.99),
            "http_429": sum(r["status"] == 429 for r in results), "errors": len(errors),
            "error_samples": sorted({f"{r['kind']} {r['status']}: {r['error']}" for r in errors})[:3],
            "rss_mib": rss / 2**20, "per_kind": {k: kind_latency([r for r in ok if r["kind"] == k]) for k in KINDS}}


def kind_latency(rows: list[dict]) -> dict:
    lat = sorted(r["latency"] for r in rows)
    return {"n": len(lat), "p50_s": round(statistics.median(lat), 4) if lat else None,
            "p95_s": round(percentile(lat, 0.95), 4) if lat else None}


def print_row(s: dict) -> None:
    print(f"{s['concurrency']:>4} {s['req_per_s']:8.2f} {s['tokens_per_s']:9.1f} {s['p50_s']:7.2f} "
          f"{s['p95_s']:7.2f} {s['p99_s']:7.2f} {s['http_429']:6d} {s['errors']:6d} {s['rss_mib']:8.0f}", flush=True)
    for sample in s["error_samples"]:
        print(f"     error: {sample}", flush=True)


def warm_up(url: str, models: list[str], embed_model: str, max_tokens: int) -> None:
    """One request of each kind on each model: adapters load, the category index is built, outside
    the measured steps."""
    async def go() -> None:
        import httpx

        async with httpx.AsyncClient(base_url=url, timeout=900) as client:
            for m in range(len(models)):
                for kind in KINDS:
                    path, body = request_for(kind, m, models, embed_model, max_tokens)
                    status, _, error = await send(client, kind, path, body)
                    if status != 200 or error:
                        sys.exit(f"warm-up {kind} on {models[m]} failed ({status}): {error}")
    asyncio.run(go())


def drain(proc, keep: deque) -> None:
    """Read the server's stderr as it comes (a full pipe would stall it), keeping the last lines."""
    for line in proc.stderr:
        keep.append(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="catalogue model to serve (smollm2-135m-instruct: the packaged default); "
                                    "default: a tiny random model built here")
    ap.add_argument("--home", help="with --model: a TuneLab home that has it converted (reused, not converted again)")
    ap.add_argument("--step-seconds", type=float, default=20.0)
    ap.add_argument("--min-requests", type=int, default=20, help="requests a step completes at least (time allowing)")
    ap.add_argument("--max-seconds", type=float, default=900.0, help="bound on the whole run, start-up included")
    ap.add_argument("--max-concurrency", type=int, default=64)
    ap.add_argument("--max-tokens", type=int, default=32)
    args = ap.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        home = Path(tmp) / "home"
        base = prepare_home(home, args.model, args.home)
        adapters = make_adapters(home, 2, base=base)
        proc, url = start_server(home, "batching", ("--model", base, "--no-worker"))
        tail: deque = deque(maxlen=40)
        threading.Thread(target=drain, args=(proc, tail), daemon=True).start()
        rss = PeakRSS(proc.pid)
        steps: list[dict] = []
        try:
            import httpx

            embed_model = httpx.get(url + "/health", timeout=10).json()["embeddings"]
            models = [base, *adapters]
            warm_up(url, models, embed_model, args.max_tokens)
            print(f"{base} + {len(adapters)} adapters, batching engine, {args.step_seconds:.0f} s per step; "
                  f"CPU: {cpu_name()}, {os.cpu_count()} cores", flush=True)
            print("conc    req/s  tokens/s  p50 s   p95 s   p99 s    429 errors  RSS MiB", flush=True)
            concurrency = 1
            while concurrency <= args.max_concurrency:
                if time.monotonic() - began + args.step_seconds > args.max_seconds:
                    print(f"stopping: --max-seconds {args.max_seconds:.0f} reached", flush=True)
                    break
                rss.reset()
                results, wall = asyncio.run(run_step(url, concurrency, args.step_seconds, args.min_requests,
                                                     began + args.max_seconds, models, embed_model, args.max_tokens))
                if proc.poll() is not None:
                    sys.exit("the server died:\n" + "".join(tail))
                steps.append(summarize(concurrency, results, wall, rss.peak))
                print_row(steps[-1])
                if steps[-1]["p95_s"] >= 2 * steps[0]["p95_s"]:
                    print(f"stopping: p95 {steps[-1]['p95_s']:.2f} s is at least twice step 1's "
                          f"{steps[0]['p95_s']:.2f} s", flush=True)
                    break
                concurrency *= 2
        finally:
            rss.stop()
            proc.terminate()
            proc.wait(timeout=60)
    if not steps:
        sys.exit("no step ran within --max-seconds")
    best = max(steps, key=lambda s: s["req_per_s"])
    ratio = best["req_per_s"] / steps[0]["req_per_s"]
    errors = sum(s["errors"] for s in steps)
    print(f"throughput ratio best (concurrency {best['concurrency']}) / concurrency 1: {ratio:.2f}x; "
          f"errors other than 429: {errors}")
    print(json.dumps({"bench": "serve_load", "model": base, "adapters": len(adapters), "max_tokens": args.max_tokens,
                      "step_seconds": args.step_seconds, "ratio": round(ratio, 3), "best_concurrency": best["concurrency"],
                      "errors": errors, "steps": [{k: (round(v, 4) if isinstance(v, float) else v)
                                                   for k, v in s.items() if k != "error_samples"} for s in steps]}))
    if errors:
        print("server's last log lines:\n" + "".join(tail), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
