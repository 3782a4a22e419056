"""Grounded QA against free answers on shops' pages, with the default model (SmolLM2-135M-Instruct):
for each shop in tests/integration/shop_pages/ (eight policy and product pages, twelve shoppers'
questions with the span of the page that states the answer, and questions the pages do not answer),
every question asked with all eight pages as sources through `tunelab.rag.cited_qa.answer_question`,
the path `/v1/tasks/qa` takes. A question's fact is "stated" when its span is in the answer, its page
"cited" when the citations are exactly that page; an unanswerable question is "refused" when the
answer says so. Prints the machine, a table per shop and mode, the totals, and the ratio of facts
stated grounded / free last; the last line is JSON.

    python bench/grounded_shops.py [--modes grounded,free] [--shops kitchen_shop,pet_shop] [--home DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from tunelab.serve.system_info import cpu_name

SHOPS = Path(__file__).resolve().parent.parent / "tests" / "integration" / "shop_pages"
MODEL = "smollm2-135m-instruct"


def load_shop(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"name": path.stem, "pages": [p["text"] for p in data["pages"]], "questions": data["questions"],
            "unanswerable": data.get("unanswerable", [])}


async def run_shop(model, shop: dict, mode: str) -> dict:
    from tunelab.rag.cited_qa import answer_question

    stated = cited = refused = 0
    start = time.perf_counter()
    for q in shop["questions"]:
        a = await answer_question(model, q["question"], shop["pages"], mode=mode)
        stated += q["fact"].lower() in a.answer.lower()
        cited += a.citations == [q["page"]]
    for question in shop["unanswerable"]:
        refused += not (await answer_question(model, question, shop["pages"], mode=mode)).answerable
    asked = len(shop["questions"]) + len(shop["unanswerable"])
    return {"shop": shop["name"], "mode": mode, "questions": len(shop["questions"]), "stated": stated,
            "cited": cited, "unanswerable": len(shop["unanswerable"]), "refused": refused,
            "s_per_question": (time.perf_counter() - start) / max(asked, 1)}


async def run_all(home: str, shops: list[dict], modes: list[str]) -> list[dict]:
    from tunelab.settings import Settings
    from tunelab.store import Store
    from tunelab.tasks.local import open_task_models

    settings = Settings(home=home)
    rows = []
    async with open_task_models([MODEL], settings, Store(settings), precision="auto") as (model,):
        for shop in shops:
            for mode in modes:
                rows.append(await run_shop(model, shop, mode))
                r = rows[-1]
                print(f"{r['shop']:<16} {mode:<9} stated {r['stated']:>2}/{r['questions']}  cited {r['cited']:>2}/"
                      f"{r['questions']}  refused {r['refused']}/{r['unanswerable']}  {r['s_per_question']:.1f} s/q",
                      flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="grounded,free", help="comma-separated: grounded, free")
    ap.add_argument("--shops", default="", help="comma-separated shop names (default: every file in shop_pages/)")
    ap.add_argument("--home", default=None, help="TuneLab home with the default model (default: a fresh one)")
    args = ap.parse_args()
    names = [s for s in args.shops.split(",") if s]
    paths = [SHOPS / f"{n}.json" for n in names] if names else sorted(SHOPS.glob("*.json"))
    shops = [load_shop(p) for p in paths]
    modes = [m for m in args.modes.split(",") if m]
    print(f"machine: {cpu_name()}; model {MODEL}; {len(shops)} shops; modes {', '.join(modes)}", flush=True)
    from tunelab.models.quiet import quiet_libraries  # lazy: after argparse, so --help does not import torch

    quiet_libraries()  # bitsandbytes' notice about an optional CPU kernel package
    home = args.home or tempfile.mkdtemp(prefix="tunelab-bench-")
    rows = asyncio.run(run_all(home, shops, modes))
    totals = {}
    for mode in modes:
        mine = [r for r in rows if r["mode"] == mode]
        totals[mode] = {k: sum(r[k] for r in mine) for k in ("questions", "stated", "cited", "unanswerable", "refused")}
        t = totals[mode]
        print(f"{'all':<16} {mode:<9} stated {t['stated']}/{t['questions']}  cited {t['cited']}/{t['questions']}  "
              f"refused {t['refused']}/{t['unanswerable']}")
    ratio = None
    if "grounded" in totals and "free" in totals:
        ratio = totals["grounded"]["stated"] / max(totals["free"]["stated"], 1)
        print(f"facts stated, grounded / free: {ratio:.2f}x")
    print(json.dumps({"bench": "grounded_shops", "machine": cpu_name(), "totals": totals, "shops": rows,
                      "ratio": ratio}))


if __name__ == "__main__":
    main()
