"""Classifier recipe: the packaged MiniLM fine-tuned on product titles learns held-out ones, is
saved as a complete model folder that predicts on its own, and bad data gets a clear error."""

import csv

import pytest
import torch

from tunelab.adapters.registry import AdapterRegistry
from tunelab.models.encoders import load_encoder_classifier
from tunelab.train import parse_config, run_recipe
from tunelab.train.runs import RunRecorder

TITLES = {
    "Electronics": [
        "Wireless Bluetooth earbuds with charging case", "4K Ultra HD smart TV 55 inch", "USB-C laptop charger 65W",
        "Noise cancelling over-ear headphones", "Portable power bank 20000mAh", "Gaming mouse with RGB lighting",
        "Mechanical keyboard with blue switches", "HDMI cable 2 metre high speed", "Smartphone 128GB unlocked",
        "Bluetooth speaker waterproof", "Computer monitor 27 inch IPS", "Wireless router dual band WiFi 6",
        "Digital camera 24 megapixel", "Tablet 10 inch with stylus", "Smartwatch with heart rate monitor",
        "External SSD 1TB USB 3.2", "Webcam 1080p with microphone", "Car phone charger dual USB",
        "Wireless charging pad for phones", "Laptop 15 inch 16GB RAM",
    ],
    "Apparel & Accessories": [
        "Men's cotton crew neck t-shirt", "Women's slim fit jeans", "Leather belt with silver buckle",
        "Wool winter scarf", "Running shoes breathable mesh", "Women's summer dress floral",
        "Men's hooded sweatshirt", "Baseball cap adjustable", "Ankle socks pack of 6",
        "Women's leather handbag", "Men's dress shirt long sleeve", "Knitted beanie hat",
        "Rain jacket waterproof hooded", "Women's high heel sandals", "Men's chino trousers",
        "Silk tie paisley pattern", "Girls' denim skirt", "Leather gloves lined",
        "Women's cardigan sweater", "Men's swim shorts",
    ],
    "Food, Beverages & Tobacco": [
        "Organic green tea 100 bags", "Dark chocolate bar 70% cocoa", "Extra virgin olive oil 1 litre",
        "Ground coffee medium roast", "Basmati rice 5kg bag", "Strawberry jam 340g jar",
        "Sparkling mineral water 12 bottles", "Honey raw and unfiltered", "Pasta spaghetti 500g",
        "Roasted salted almonds", "Orange juice not from concentrate", "Breakfast cereal with oats",
        "Maple syrup pure grade A", "Peanut butter crunchy", "Black tea English breakfast",
        "Tomato ketchup squeeze bottle", "Granola bars chocolate chip", "Sea salt flakes",
        "Instant noodles chicken flavour", "Apple cider vinegar",
    ],
}


@pytest.fixture
def one_thread(settings):
    """Settings with one torch thread: test machines run several suites at once, and two OpenMP
    threads contending for a busy core make each MiniLM step several times slower. Restored after."""
    threads = torch.get_num_threads()
    yield settings.model_copy(update={"torch_threads": 1})
    torch.set_num_threads(threads)


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


@pytest.fixture
def split_files(tmp_path):
    train = [(t, label) for label, titles in TITLES.items() for t in titles[:16]]
    held = [(t, label) for label, titles in TITLES.items() for t in titles[16:]]
    return write_csv(tmp_path / "train.csv", train), write_csv(tmp_path / "eval.csv", held)


def config(train, **kw):
    base = {"recipe": "classifier", "dataset": str(train), "epochs": 3, "batch_size": 16, "learning_rate": 3e-4,
            "warmup_ratio": 0.1, "seed": 0, "precision": "fp32", "max_seq_len": 32}
    return parse_config({**base, **kw})


def test_minilm_classifier_learns_held_out_titles_and_predicts(one_thread, store, split_files):
    settings, (train, held) = one_thread, split_files
    result = run_recipe(config(train, eval_dataset=str(held), adapter_name="shop-cls"), settings, store)
    m = result["metrics"]
    assert m["eval_accuracy"] >= 0.8 and 0.0 <= m["eval_macro_f1"] <= 1.0 and m["eval_loss"] > 0
    assert len(RunRecorder(store, result["run_id"]).metrics("train_loss")) == 9  # 48 texts / 16 x 3 epochs
    info = AdapterRegistry(store, settings).get("shop-cls")
    assert info.kind == "classifier" and info.base_model == "minilm" and len(info.base_model_hash) == 64
    assert info.lineage["recipe"] == "classifier" and info.lineage["labels"] == sorted(TITLES)
    clf = load_encoder_classifier(info.path)  # a complete folder: config with label names + tokenizer
    assert clf.labels == sorted(TITLES)
    preds = clf.predict(["Wireless gaming headset with microphone", "Men's wool socks", "Green tea"])
    assert all(abs(sum(p.scores.values()) - 1) < 1e-5 and p.score == max(p.scores.values()) for p in preds)
    assert sum(p.label == want for p, want in zip(preds, ["Electronics", "Apparel & Accessories",
                                                          "Food, Beverages & Tobacco"])) >= 2


def test_bad_labels_and_data_are_refused_clearly(settings, store, tmp_path):
    from tunelab.data import DatasetError

    one = write_csv(tmp_path / "one.csv", [("Wireless earbuds", "Electronics"), ("Smart TV", "Electronics")])
    with pytest.raises(ValueError, match="single label"):
        run_recipe(config(one, val_fraction=0), settings, store)
    two = write_csv(tmp_path / "two.csv", [("Wireless earbuds", "Electronics"), ("Jeans", "Apparel")])
    unseen = write_csv(tmp_path / "unseen.csv", [("Green tea", "Food")])
    with pytest.raises(ValueError, match=r"Eval labels \['Food'\] never occur"):
        run_recipe(config(two, eval_dataset=str(unseen)), settings, store)
    blank = tmp_path / "blank.csv"
    blank.write_text("text,label\nWireless earbuds,Electronics\nJeans,\n")
    with pytest.raises(DatasetError, match="label"):
        run_recipe(config(blank), settings, store)
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\n")
    with pytest.raises(DatasetError):
        run_recipe(config(empty), settings, store)
    chat = tmp_path / "chat.jsonl"
    chat.write_text('{"instruction": "Classify: jeans", "output": "Apparel"}\n')
    with pytest.raises(ValueError, match="classification records"):
        run_recipe(config(chat, val_fraction=0), settings, store)
    assert AdapterRegistry(store, settings).names() == []
