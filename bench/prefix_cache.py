"""Prefix caching and shared-prefix candidate scoring, on the default model, side by side in one run.

(a) classify: `[CLASSIFY]` of sample products (20 candidate paths each, ranked by likelihood) through
the batching engine, as `/v1/tasks/classify` runs it, with the prefix cache off and candidates scored
each on its own (the baseline), then with the cache and the prefix tree on: items/s (the best of
--rounds rounds, off and on interleaved), and whether every answer and score is the same. (b) chat:
time to first token of chats that share a long system prompt, one after the other, cache off then on.

Prints both tables, the classify ratio last but one and a last line of JSON with `ratio` (classify
items/s, on over off).

    python bench/prefix_cache.py [--items 24] [--chats 8] [--rounds 2] [--precision auto] [--home DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from tunelab.serve.system_info import cpu_name

SYSTEM = ("You are the shop assistant of Northwind Outdoor. Answer in two sentences at most, politely. "
          "Returns: within 30 days of delivery, unused, with the receipt; refunds go to the original payment "
          "method within 5 working days. Shipping: free over 50 EUR, else 4.90 EUR; express 9.90 EUR, next "
          "working day when ordered before 14:00. Warranty: two years on every product, five on tents. ") * 3
QUESTIONS = ["Can I return boots I wore once?", "How much is express shipping?", "Is there a warranty on tents?",
             "When do I get my refund?", "Is shipping free for a 60 EUR order?", "Do you ship on Saturdays?",
             "Can I return a gift without a receipt?", "What does the warranty cover?"]


async def classify_pass(loaded, registry_paths, texts, taxonomy, index, *, on: bool):
    from tunelab.engine.batching import BatchingEngine
    from tunelab.tasks.ecommerce.classify import classify_many
    from tunelab.tasks.model import EngineTaskModel

    engine = BatchingEngine(loaded, adapter_paths=registry_paths, prefix_cache_bytes=(256 << 20) if on else 0,
                            tree_scoring=on)
    await engine.start()
    model = EngineTaskModel(engine, loaded, name="bench")
    await classify_many(model, texts[:2], taxonomy=taxonomy, index=index)  # warm-up (not timed)
    start = time.perf_counter()
    out = await classify_many(model, texts, taxonomy=taxonomy, index=index)
    wall = time.perf_counter() - start
    await engine.stop()
    return out, wall


async def chat_pass(loaded, registry_paths, questions, *, on: bool) -> list[float]:
    from tunelab.engine.batching import BatchingEngine
    from tunelab.engine.sampling import SamplingParams
    from tunelab.engine.types import GenRequest

    engine = BatchingEngine(loaded, adapter_paths=registry_paths, prefix_cache_bytes=(256 << 20) if on else 0)
    await engine.start()
    ttft = []
    for i, q in enumerate(["Hello!"] + questions):  # the first one fills the cache (not timed)
        prompt = loaded.chat_prompt([{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}])
        ids = loaded.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        req = GenRequest(request_id=f"c{i}", prompt_ids=ids, params=SamplingParams(temperature=0.0, max_tokens=4))
        start = time.perf_counter()
        stream = engine.generate(req)
        await anext(stream)
        if i:
            ttft.append(time.perf_counter() - start)
        async for _ in stream:
            pass
    await engine.stop()
    return ttft


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=24, help="sample products to classify")
    ap.add_argument("--chats", type=int, default=8, help="chats sharing the system prompt")
    ap.add_argument("--rounds", type=int, default=2, help="classify rounds of each, interleaved (the best counts)")
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    ap.add_argument("--home", help="TuneLab home with the default model converted (default: ~/.tunelab)")
    args = ap.parse_args()

    from tunelab.models.loader import load_model
    from tunelab.models.quiet import quiet_libraries
    from tunelab.models.torch_threads import on_own_thread
    from tunelab.settings import Settings
    from tunelab.store import Store
    from tunelab.tasks.ecommerce.category_index import CategoryIndex
    from tunelab.tasks.ecommerce.datasets import load_products, packaged_taxonomy, sample_path
    from tunelab.tasks.local import inference_dtype

    quiet_libraries()  # bitsandbytes' notice about an optional CPU kernel package
    settings = Settings(home=args.home) if args.home else Settings()
    store = Store(settings)
    taxonomy = packaged_taxonomy()
    index = on_own_thread(lambda: CategoryIndex.for_settings(taxonomy, settings))  # loads the embedder
    products = [p for p in load_products(sample_path("products"), taxonomy=taxonomy) if p.split == "test"]
    texts = [p.text() for p in products[:args.items]]
    # loaded on a thread that ends, so the engine's model thread is the one thread with an OpenMP team
    # (tunelab/models/torch_threads.py: a second team halves the engine's speed on 2 cores)
    loaded = on_own_thread(lambda: load_model(settings.default_model, settings, store=store,
                                              dtype=inference_dtype(args.precision, settings)))

    def no_adapters(name):
        raise KeyError(name)

    print(f"Machine: {cpu_name()}, torch threads {__import__('torch').get_num_threads()}, "
          f"dtype {loaded.model.dtype}; {len(texts)} products, 20 candidates each")
    walls: dict[bool, list[float]] = {False: [], True: []}
    last: dict[bool, list] = {}
    for _ in range(args.rounds):  # off and on interleaved, so that load elsewhere slows both alike
        for mode in (False, True):
            answers, wall = asyncio.run(classify_pass(loaded, no_adapters, texts, taxonomy, index, on=mode))
            walls[mode].append(wall)
            last[mode] = answers
    off, on = last[False], last[True]
    t_off, t_on = min(walls[False]), min(walls[True])  # the best round of each
    same = sum(a.id == b.id for a, b in zip(off, on))
    diff = max(abs(x.score - y.score) for a, b in zip(off, on) for x, y in zip(a.top_k, b.top_k))
    print(f"{'classify':<34}{'items/s':>10}{'wall s':>10}")
    print(f"{'cache off, options one by one':<34}{len(texts) / t_off:>10.2f}{t_off:>10.1f}")
    print(f"{'cache on, prefix tree':<34}{len(texts) / t_on:>10.2f}{t_on:>10.1f}")
    print("rounds, wall s: off " + " ".join(f"{w:.1f}" for w in walls[False]) + "; on "
          + " ".join(f"{w:.1f}" for w in walls[True]))
    print(f"same answer for {same}/{len(texts)}; largest top-5 probability difference {diff:.2e}")

    questions = (QUESTIONS * (1 + args.chats // len(QUESTIONS)))[:args.chats]
    ttft_off = asyncio.run(chat_pass(loaded, no_adapters, questions, on=False))
    ttft_on = asyncio.run(chat_pass(loaded, no_adapters, questions, on=True))
    n_sys = len(loaded.tokenizer(SYSTEM)["input_ids"])
    print(f"\n{'chat, ' + str(n_sys) + '-token system prompt':<34}{'TTFT ms':>10}")
    print(f"{'cache off':<34}{1000 * sum(ttft_off) / len(ttft_off):>10.1f}")
    print(f"{'cache on':<34}{1000 * sum(ttft_on) / len(ttft_on):>10.1f}")
    ratio = t_off / t_on
    ttft_ratio = sum(ttft_off) / sum(ttft_on)
    print(f"\nclassify items/s, cache and tree on / off: {ratio:.2f}x (target >= 4x); chat TTFT off / on: "
          f"{ttft_ratio:.2f}x")
    print(json.dumps({"bench": "prefix_cache", "ratio": round(ratio, 3), "ttft_ratio": round(ttft_ratio, 3),
                      "items": len(texts), "same_answers": same, "max_score_diff": diff, "cpu": cpu_name()}))


if __name__ == "__main__":
    main()
