"""The Adapters page in a real browser: adapters trained here with TuneLab's trainer on the tiny
model (SFT, then DPO on top of it) drawn as a lineage graph with their metrics, config and data
hashes; load and unload into the running server; a merge submitted from the form whose adapter
shows both parents in the graph; an export job from the detail panel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser_support import shot

from tunelab.adapters.registry import AdapterRegistry
from tunelab.data.registry import DatasetRegistry
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.train import parse_config, run_recipe

ITEMS = [("Wireless earbuds", "Electronics", "Food"), ("Running shoes", "Apparel", "Kitchen"),
         ("Green tea", "Food", "Electronics"), ("Water bottle", "Kitchen", "Apparel")] * 2
SFT, DPO, MERGED = "reg-sft", "reg-dpo", "reg-merged"


@pytest.fixture(scope="module")
def trained(dashboard, tmp_path_factory):
    """SFT then DPO on top of it, trained in this process into the dashboard's home."""
    tmp = tmp_path_factory.mktemp("adapters-data")
    sft_file, pref_file = tmp / "sft.jsonl", tmp / "pairs.jsonl"
    sft_file.write_text("\n".join(json.dumps({"instruction": f"Category of {t}?", "output": c}) for t, c, _ in ITEMS))
    pref_file.write_text("\n".join(json.dumps({"prompt": f"Category of {t}?", "chosen": c, "rejected": r})
                                   for t, c, r in ITEMS))
    settings = Settings(home=dashboard.home, hub_offline=True)
    store = Store(settings)
    DatasetRegistry(store, settings).add(sft_file, "reg-sft-data")
    common = {"base_model": "tiny", "batch_size": 4, "val_fraction": 0, "seed": 7, "precision": "fp32"}
    run_recipe(parse_config({**common, "dataset": "reg-sft-data", "max_steps": 2, "learning_rate": 1e-2,
                             "adapter_name": SFT, "lora": {"r": 4, "alpha": 8}}), settings, store)
    run_recipe(parse_config({**common, "recipe": "dpo", "dataset": str(pref_file), "max_steps": 2,
                             "learning_rate": 5e-3, "sft_adapter": SFT, "adapter_name": DPO}), settings, store)
    registry = AdapterRegistry(store, settings)
    yield registry
    store.dispose()


def node(page, name):
    return page.locator(f'svg.lineage g.node[data-id="{name}"]')


def edge(page, source, target):
    return page.locator(f'svg.lineage path.edge[data-source="{source}"][data-target="{target}"]')


def test_lineage_detail_load_unload(watched, dashboard, trained):
    page, _ = watched
    page.goto(dashboard.url + "/adapters")
    node(page, DPO).wait_for()
    assert edge(page, "tiny", SFT).count() == 1 and edge(page, SFT, DPO).count() == 1
    assert "DPO" in node(page, DPO).text_content() and "SFT" in node(page, SFT).text_content()
    # the base is left of the SFT adapter, which is left of the DPO adapter (layers left to right)
    xs = [node(page, n).bounding_box()["x"] for n in ("tiny", SFT, DPO)]
    assert xs[0] < xs[1] < xs[2], xs

    node(page, SFT).click()
    detail = page.locator("#detail")
    page.wait_for_function(f"document.getElementById('detail-title').textContent.startsWith('{SFT}')")
    sft = trained.get(SFT)
    data_hash = sft.lineage["datasets"][0]["hash"]
    assert detail.locator(f'code.hash[title="{data_hash}"]').count() == 1
    assert "reg-sft-data" in detail.inner_text() and "train_loss" in detail.inner_text()
    assert '"learning_rate": 0.01' in detail.locator("pre.config-json").text_content()
    assert page.locator(f'#registry tr.selected[data-name="{SFT}"]').count() == 1
    shot(page, "adapters-lineage-detail")

    detail.locator('button[data-action="load"]').click()
    page.locator(f'#registry tr[data-name="{SFT}"] .badge.loaded').wait_for()
    with dashboard.client() as c:
        assert SFT in c.get("/v1/adapters").json()["loaded"]
    assert "loaded" in node(page, SFT).get_attribute("class")
    shot(page, "adapters-loaded")
    page.locator(f'#registry tr[data-name="{SFT}"] button[data-action="unload"]').click()
    page.locator(f'#registry tr[data-name="{SFT}"] button[data-action="load"]').wait_for()
    with dashboard.client() as c:
        assert SFT not in c.get("/v1/adapters").json()["loaded"]

    page.locator(f'a.adapter-link:has-text("{DPO}")').click()
    page.wait_for_function(f"document.getElementById('detail-title').textContent.startsWith('{DPO}')")
    assert detail.locator(f'.chips a.chip:has-text("{SFT}")').count() == 1  # its parent


def test_merge_form_checks_then_merges_and_exports(watched, dashboard, trained):
    page, _ = watched
    page.goto(dashboard.url + "/adapters")
    node(page, DPO).wait_for()
    form = page.locator("#merge-form")
    form.locator('button[type="submit"]').click()  # nothing picked: messages, no request
    assert "at least two adapters" in form.inner_text()
    assert "Name the merged adapter" in form.inner_text()
    form.locator(f'.merge-choice[data-name="{SFT}"] input[type=checkbox]').check()
    form.locator(f'.merge-choice[data-name="{DPO}"] input[type=checkbox]').check()
    form.locator('input[name="name"]').fill(SFT)
    form.locator('button[type="submit"]').click()
    assert "exists already" in form.inner_text()
    form.locator('select[name="method"]').select_option("ties")
    form.locator('input[name="name"]').fill(MERGED)
    form.locator('button[type="submit"]').click()
    assert "needs a density" in form.inner_text()
    shot(page, "adapters-merge-form-errors")
    form.locator('select[name="method"]').select_option("linear")
    form.locator(f'.merge-choice[data-name="{SFT}"] input.weight').fill("0.7")
    form.locator(f'.merge-choice[data-name="{DPO}"] input.weight').fill("0.3")
    form.locator('button[type="submit"]').click()
    node(page, MERGED).wait_for(timeout=120_000)
    assert edge(page, SFT, MERGED).count() == 1 and edge(page, DPO, MERGED).count() == 1
    assert "×0.7" in page.locator("svg.lineage").text_content()
    info = trained.get(MERGED)
    assert info.parents == [SFT, DPO] and info.lineage["weights"] == [0.7, 0.3]
    page.wait_for_function(f"document.getElementById('detail-title').textContent.startsWith('{MERGED}')")
    assert "linear, weights 0.7 / 0.3" in page.locator("#detail").inner_text()
    shot(page, "adapters-merged")

    export = page.locator("form.export-form")
    export.locator('input[name="out"]').fill("relative/folder")
    export.locator('button[type="submit"]').click()
    assert "absolute folder path" in export.inner_text()
    export.locator('input[name="out"]').fill("")
    export.locator('button[type="submit"]').click()
    page.locator("form.export-form .badge.succeeded").wait_for(timeout=120_000)
    out = Path(dashboard.home) / "exports" / MERGED
    assert (out / "adapter_config.json").is_file()
    assert re.search(r"export .*succeeded", page.locator("#adapter-jobs").inner_text().replace("\n", " "))
    shot(page, "adapters-exported")


def test_phone_width(chromium, dashboard, trained):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = context.new_page()
    page.goto(dashboard.url + "/adapters")
    node(page, DPO).wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "adapters-phone-dark")
    context.close()
