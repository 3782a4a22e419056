"""Synthetic RAG corpora for bench/rag.py, deterministic for a seed: a product catalogue (the
e-commerce sample's 504 products repeated with variations: title variant, price, bullet order),
Markdown buying guides (several chunks each, built from the same products and the sample's
questions and answers), search queries, and text variants for the perturbed copies of a large index."""

from __future__ import annotations

import json
import random
from pathlib import Path

VARIANTS = ["Pack of 2", "Pack of 3", "2024 Edition", "Travel Size", "XL", "Compact", "Pro", "Limited Edition",
            "Refurbished", "Gift Set", "Large", "Small", "Mini", "Family Size", "Starter Kit", "Bundle"]
COLOURS = ["black", "white", "navy", "olive", "teal", "sand", "graphite", "red", "forest green", "silver"]
MATERIALS = ["cotton", "polyester", "stainless steel", "bamboo", "aluminium", "leather", "recycled plastic",
             "oak", "ceramic", "wool"]
QUERY_FORMS = ["{leaf}", "{leaf} {colour}", "best {leaf} under ${price}", "{brand} {leaf}", "{leaf} for {use}",
               "is the {brand} {leaf} {material}?", "{title}"]
USES = ["travel", "kids", "beginners", "the office", "camping", "a gift", "daily use"]


def _products():
    from tunelab.tasks.ecommerce.datasets import load_sample_products

    return load_sample_products()


def _qa():
    from tunelab.tasks.ecommerce.datasets import load_sample_qa

    return load_sample_qa()


def catalogue(n: int, seed: int = 0) -> list[dict]:
    """`n` product records (id, title, description, bullet_points, brand, color, price, category)."""
    rnd = random.Random(seed)
    products = _products()
    rows = []
    for i in range(n):
        p = products[i % len(products)]
        bullets = list(p.bullet_points)
        rnd.shuffle(bullets)
        title = p.title if i < len(products) else f"{p.title}, {rnd.choice(VARIANTS)}"
        price = round((p.price or 20.0) * rnd.uniform(0.8, 1.25), 2)
        rows.append({"id": f"{p.id}-{i:06d}", "title": title, "description": p.description,
                     "bullet_points": bullets[:rnd.randint(1, max(1, len(bullets)))], "brand": p.brand,
                     "color": p.color or rnd.choice(COLOURS), "price": price, "category": p.category_path})
    return rows


def guides(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """`n` Markdown buying guides as (file name, text): a title, then sections of 3-5 products and
    a questions section, so each guide is cut into several chunks of up to 1,000 characters."""
    rnd = random.Random(seed)
    products, qa = _products(), _qa()
    out = []
    for i in range(n):
        picks = rnd.sample(products, 8)
        leaf = (picks[0].category_path or "Products").split(" > ")[-1]
        lines = [f"# Buying guide {i}: {leaf} and more", "",
                 f"How we chose: {rnd.randint(12, 60)} products tested over {rnd.randint(2, 10)} weeks.", ""]
        for heading, group in (("Top picks", picks[:4]), ("Budget picks", picks[4:])):
            lines += [f"## {heading}", ""]
            for p in group:
                lines += [f"**{p.title}**: {p.description} {' '.join(p.bullet_points)}", ""]
        lines += ["## What buyers ask", ""]
        for q in rnd.sample(qa, 5):
            answer = q.answers[0].text if q.answers else "Nobody has answered yet."
            lines += [f"**{q.question}** {answer}", ""]
        out.append((f"guide-{i:05d}.md", "\n".join(lines)))
    return out


def write_corpus(folder: Path, products: int, guide_count: int, seed: int = 0) -> tuple[Path, Path]:
    """Write `catalogue.jsonl` and a `guides/` folder under `folder`; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    cat = folder / "catalogue.jsonl"
    cat.write_text("".join(json.dumps(r) + "\n" for r in catalogue(products, seed)))
    gdir = folder / "guides"
    gdir.mkdir(exist_ok=True)
    for name, text in guides(guide_count, seed):
        (gdir / name).write_text(text)
    return cat, gdir


def queries(n: int, seed: int = 0) -> list[str]:
    """`n` queries: keyword and natural-language product searches, and the sample's shopper questions."""
    rnd = random.Random(seed)
    products, qa = _products(), _qa()
    out = []
    for i in range(n):
        if i % 4 == 3:
            out.append(rnd.choice(qa).question)
            continue
        p = rnd.choice(products)
        leaf = (p.category_path or p.title).split(" > ")[-1].lower()
        out.append(rnd.choice(QUERY_FORMS).format(
            leaf=leaf, colour=rnd.choice(COLOURS), price=rnd.choice([20, 50, 100, 200]), brand=p.brand or "",
            use=rnd.choice(USES), material=rnd.choice(MATERIALS), title=p.title).strip())
    return out


def variant_line(rnd: random.Random) -> str:
    """A line that makes a copied chunk's text differ from its original (for BM25's statistics)."""
    return (f"Variant: {rnd.choice(VARIANTS)}, {rnd.choice(COLOURS)}, {rnd.choice(MATERIALS)}, "
            f"lot {rnd.randint(1000, 99999)}.")
