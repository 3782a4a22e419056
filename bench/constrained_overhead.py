"""Constrained decoding overhead: time per output token with a JSON schema (llguidance masks, closing
plans) against the same requests unconstrained, on the default model through the batching engine.

Each prompt is first run constrained (greedy) and its token count n kept; the unconstrained run of
the same prompt gets max_tokens = n, so both generate the same tokens' worth (fewer where the free
text ends early). Requests run `--concurrency` at a time, sharing decode steps; time per output token
is decode time while all of a group run (after their first tokens: prefill and grammar compile
excluded, compile time is printed on its own). Rounds alternate the two modes; the medians are
compared. Prints both, the ratio (target <= 1.15x), then one JSON line.

    python bench/constrained_overhead.py [--prompts 4] [--rounds 3] [--concurrency 1] [--home DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 60},
        "category": {"type": "string", "enum": ["electronics", "clothing", "home", "food", "sports"]},
        "price": {"type": "object", "properties": {
            "amount": {"type": "number", "minimum": 0}, "currency": {"type": "string", "enum": ["USD", "EUR", "GBP"]}},
            "required": ["amount", "currency"], "additionalProperties": False},
        "attributes": {"type": "array", "maxItems": 5, "items": {"type": "object", "properties": {
            "name": {"type": "string", "maxLength": 30}, "value": {"type": "string", "maxLength": 30}},
            "required": ["name", "value"], "additionalProperties": False}},
        "in_stock": {"type": "boolean"},
        "tags": {"type": "array", "minItems": 1, "maxItems": 3,
                 "items": {"type": "string", "enum": ["new", "sale", "eco", "premium"]}},
    },
    "required": ["title", "category", "price", "attributes", "in_stock", "tags"],
    "additionalProperties": False,
}
PRODUCTS = ["wireless earbuds", "a wool winter coat", "a stainless steel water bottle", "running shoes",
            "organic green tea", "a kitchen knife set", "a yoga mat", "a desk lamp", "a phone charger",
            "a cotton t-shirt", "a coffee grinder", "a camping tent"]


async def run_mode(engine, reqs, group: int = 1) -> list[dict]:
    """Run requests `group` at a time (all of a group together); each result has its token times."""
    async def one(req):
        times, text = [], ""
        async for ev in engine.generate(req):
            if ev.token_id is not None:
                times.append(time.perf_counter())
            text += ev.text
        return {"tokens": len(times), "times": times, "text": text}

    out = []
    for i in range(0, len(reqs), group):
        out.append(await asyncio.gather(*[one(r) for r in reqs[i:i + group]]))
    return out


def per_token_ms(groups: list[list[dict]]) -> float:
    """Decode time per token while the whole group runs: from the last first token of the group to its
    first last token (so a batch that empties early does not flatter either mode), divided by the mean
    number of tokens each request got in that window. One request per group: its plain decode time
    per token after the first."""
    window_s, tokens = 0.0, 0.0
    for g in groups:
        start = max(r["times"][0] for r in g if r["times"])
        end = min(r["times"][-1] for r in g if r["times"])
        if end <= start:
            continue
        window_s += end - start
        tokens += sum(sum(1 for t in r["times"] if start < t <= end) for r in g) / len(g)
    return 1000 * window_s / max(tokens, 1)


async def bench(args) -> dict:
    import torch

    from tunelab.engine.batching import BatchingEngine
    from tunelab.engine.constraints import ConstraintBackend
    from tunelab.engine.sampling import SamplingParams
    from tunelab.engine.types import Constraint, GenRequest
    from tunelab.models.loader import load_model
    from tunelab.settings import Settings

    settings = Settings(home=args.home) if args.home else Settings()
    model = load_model("smollm2-135m-instruct", settings)
    tok = model.tokenizer

    def ids(p: str) -> list[int]:
        msg = [{"role": "user", "content": f"Describe {p} as a JSON product record: title, category, price, "
                                           "attributes, in_stock and tags."}]
        return tok(model.chat_prompt(msg), add_special_tokens=False)["input_ids"]

    t0 = time.perf_counter()
    backend = ConstraintBackend.for_model(model)
    setup_s = time.perf_counter() - t0
    constraint = Constraint("json_schema", schema=SCHEMA)
    t0 = time.perf_counter()
    backend.compile(constraint)
    compile_ms = 1000 * (time.perf_counter() - t0)
    backend.vocab_info()  # built once per tokenizer, like the compile: not per token

    engine = BatchingEngine(model, adapter_paths=str, max_batch_size=args.concurrency, max_queue=1024,
                            constraint_backend=backend)
    await engine.start()
    prompts = [ids(PRODUCTS[i % len(PRODUCTS)]) for i in range(args.prompts)]
    greedy = SamplingParams(max_tokens=args.max_tokens, temperature=0)

    def constrained_reqs():
        return [GenRequest(f"c{i}", p, greedy, constraint=constraint) for i, p in enumerate(prompts)]

    reference = [r for g in await run_mode(engine, constrained_reqs(), args.concurrency) for r in g]
    for r in reference:  # warm-up, and the token count per prompt
        json.loads(r["text"])  # the constrained outputs are valid JSON, or this benchmark is moot

    def free_reqs():
        return [GenRequest(f"u{i}", p, SamplingParams(max_tokens=max(r["tokens"], 2), temperature=0))
                for i, (p, r) in enumerate(zip(prompts, reference))]

    await run_mode(engine, free_reqs()[:args.concurrency], args.concurrency)  # warm-up
    times: dict[str, list[float]] = {"unconstrained": [], "json_schema": []}
    tokens: dict[str, int] = {}
    for rnd in range(args.rounds):
        modes = [("unconstrained", free_reqs), ("json_schema", constrained_reqs)]
        for name, make in (modes if rnd % 2 == 0 else modes[::-1]):
            groups = await run_mode(engine, make(), args.concurrency)
            times[name].append(per_token_ms(groups))
            tokens[name] = sum(r["tokens"] for g in groups for r in g)
    await engine.stop()
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"threads": torch.get_num_threads(), "tokenizer_setup_s": setup_s, "compile_ms": compile_ms,
            "ms_per_token": med, "rounds_ms": times, "tokens": tokens}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=4, help="a multiple of --concurrency")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=1, help="max_batch_size: requests sharing a decode step")
    ap.add_argument("--max-tokens", type=int, default=320, help="high enough that outputs end by themselves")
    ap.add_argument("--home", help="TuneLab home with the default model converted (default: ~/.tunelab)")
    args = ap.parse_args()
    r = asyncio.run(bench(args))
    free, con = r["ms_per_token"]["unconstrained"], r["ms_per_token"]["json_schema"]
    print(f"torch threads {r['threads']}, concurrency {args.concurrency}; llguidance tokenizer set-up "
          f"{r['tokenizer_setup_s']:.2f} s, schema compile {r['compile_ms']:.1f} ms")
    print(f"unconstrained  {free:7.2f} ms/token  ({r['tokens']['unconstrained']} tokens per round)")
    print(f"json_schema    {con:7.2f} ms/token  ({r['tokens']['json_schema']} tokens per round)")
    ratio = con / free
    print(f"per-token time ratio json_schema/unconstrained: {ratio:.3f}x  (target <= 1.15x)")
    print(json.dumps({"bench": "constrained_overhead", "prompts": args.prompts, "rounds": args.rounds,
                      "concurrency": args.concurrency, "threads": r["threads"], "ratio": round(ratio, 4),
                      "ms_per_token_unconstrained": round(free, 3), "ms_per_token_json_schema": round(con, 3),
                      "tokens_unconstrained": r["tokens"]["unconstrained"],
                      "tokens_json_schema": r["tokens"]["json_schema"], "compile_ms": round(r["compile_ms"], 2),
                      "tokenizer_setup_s": round(r["tokenizer_setup_s"], 3)}))


if __name__ == "__main__":
    main()
