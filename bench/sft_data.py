"""Synthetic instruction data with the long-tailed length mix of real SFT sets (short Q&A next to
long descriptions), deterministic for a seed. Shared by the training benchmarks."""

from __future__ import annotations

import json
import random
from pathlib import Path

PRODUCTS = ["wireless earbuds", "trail running shoes", "stainless steel water bottle", "organic green tea",
            "chef knife", "yoga mat", "desk lamp", "backpack", "coffee grinder", "phone case", "wool socks",
            "cast iron skillet", "bluetooth speaker", "office chair", "electric toothbrush", "rain jacket"]
FEATURES = ["is built to last for years of daily use", "comes with a two-year warranty",
            "weighs less than most alternatives in its class", "is easy to clean by hand or in the dishwasher",
            "ships in fully recyclable packaging", "is available in five colours",
            "was rated highly by independent reviewers", "fits comfortably in a bag or drawer",
            "uses materials that are free of BPA and PVC", "has a simple design that suits any room"]
QUESTIONS = ["What is it made of?", "Is it good for travel?", "Who is it for?", "How do I clean it?"]


def make_rows(n: int, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    rows = []
    for _ in range(n):
        product = rnd.choice(PRODUCTS)
        # long-tailed number of sentences: most answers short, a few very long
        k = min(40, max(1, int(rnd.lognormvariate(1.2, 0.9))))
        sentences = [f"The {product} {rnd.choice(FEATURES)}." for _ in range(k)]
        if rnd.random() < 0.4:
            rows.append({"instruction": rnd.choice(QUESTIONS), "input": f"Product: {product}",
                         "output": " ".join(sentences[: max(1, k // 3)])})
        else:
            rows.append({"instruction": "Write a product description.", "input": f"Product: {product}",
                         "output": " ".join(sentences)})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path
