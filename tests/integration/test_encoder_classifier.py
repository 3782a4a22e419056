"""A trained encoder classifier in use: named as the model, it answers /v1/tasks/classify (its
labels with their probabilities, top-k, taxonomy ids where its labels are category ids), and the
eval runner and `run_predict` run it beside a generative model on the same split."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import torch
from serve_harness import ServerThread
from test_tasks_api import TAXONOMY

from tunelab.adapters import AdapterRegistry
from tunelab.eval.config import eval_config_from
from tunelab.eval.predict import run_predict
from tunelab.eval.runner import run_eval
from tunelab.models.catalogue import Catalogue
from tunelab.models.encoders import load_encoder_classifier
from tunelab.models.packaged import minilm_dir
from tunelab.serve.app import create_app
from tunelab.settings import Settings
from tunelab.store import Store

LABELS = ["4", "17", "other"]  # Dog Beds, Headphones, and a label that is no category
TITLES = ["Orthopedic memory foam dog bed, large", "Wireless over-ear headphones with noise cancelling"]


@pytest.fixture(scope="module")
def home(tmp_path_factory, tiny_model_dir):
    home = tmp_path_factory.mktemp("encoder-clf") / "home"
    home.mkdir(parents=True)
    (home / "taxonomy.txt").write_text(TAXONOMY)
    settings = Settings(home=home, hub_offline=True, taxonomy=home / "taxonomy.txt", torch_threads=1)
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    torch.manual_seed(0)  # a fresh head, the same every run: what matters is that the server answers as it does
    clf = load_encoder_classifier(minilm_dir(), LABELS)
    folder = home / "clf"
    clf.model.save_pretrained(folder)
    clf.tokenizer.save_pretrained(folder)
    AdapterRegistry(store, settings).register("shop-clf", kind="classifier", path=folder, base_model="minilm")
    yield settings, store, clf
    store.dispose()


def test_a_classifier_answers_the_classify_route_with_its_labels(home):
    settings, store, clf = home
    expected = clf.predict(TITLES)
    server = ServerThread(create_app(settings, model="tiny", engine="sequential", embeddings=False, workers=0))
    try:
        r = httpx.post(server.v1 + "/tasks/classify", json={"model": "shop-clf", "input": TITLES, "top_k": 3},
                       timeout=60)
        assert r.status_code == 200, r.text
        for answer, want in zip(r.json()["data"], expected):
            assert answer["method"] == "encoder" and answer["label"] == want.label
            assert [c["label"] for c in answer["top_k"]] == sorted(LABELS, key=lambda name: -want.scores[name])
            assert sum(c["score"] for c in answer["top_k"]) == pytest.approx(1.0, abs=1e-5)
            for c in answer["top_k"]:
                assert c["score"] == pytest.approx(want.scores[c["label"]], abs=1e-5)
                assert (c["id"], c["path"] is not None) == ((int(c["label"]), True) if c["label"] != "other"
                                                             else (None, False))
        assert "Dog Beds" in next(c["path"] for c in r.json()["data"][0]["top_k"] if c["label"] == "4")
        refused = httpx.post(server.v1 + "/chat/completions", json={"model": "shop-clf", "messages": [
            {"role": "user", "content": "hi"}]}, timeout=60)
        assert refused.status_code == 400 and "classifier" in refused.json()["error"]["message"]
    finally:
        server.stop()


def test_eval_and_predict_run_the_classifier_beside_a_generative_model(home, tmp_path):
    settings, store, clf = home
    data = tmp_path / "products.jsonl"
    data.write_text("".join(json.dumps({"id": f"p{i}", "title": t, "category_id": cid, "split": "test"}) + "\n"
                            for i, (t, cid) in enumerate(zip(TITLES, [4, 17]))))
    cfg = eval_config_from({"task": "classify", "models": ["tiny", "shop-clf"], "data": str(data),
                            "taxonomy": str(settings.taxonomy), "k": 3, "candidates": 3}, "test")
    result = asyncio.run(run_eval(cfg, settings, store))
    want = [int(p.label) if p.label != "other" else None for p in clf.predict(TITLES)]
    got = [row["outputs"]["shop-clf"]["id"] for row in result.examples]
    assert got == want
    assert result.value("shop-clf", "accuracy") == sum(g == c for g, c in zip(got, [4, 17])) / 2
    assert 0.0 <= result.value("tiny", "accuracy") <= 1.0
    out = tmp_path / "preds.jsonl"
    summary = asyncio.run(run_predict(cfg, str(data), "shop-clf", out, settings, store, task="classify"))
    assert summary.written == 2
    assert sorted((json.loads(x)["id"], json.loads(x)["prediction"]["id"]) for x in out.read_text().splitlines()) \
        == sorted(zip(["p0", "p1"], want))
