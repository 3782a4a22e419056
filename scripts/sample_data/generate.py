"""Write TuneLab's synthetic e-commerce sample into `tunelab/tasks/ecommerce/data/sample/`: the
products, attributes and Q&A JSONL files (rows from `products.py`) and the data card (`card.py`).
The same seed writes the same bytes; `python -m scripts.sample_data` runs it (and `retrieval`)."""

from __future__ import annotations

from pathlib import Path

from scripts.sample_data.card import data_card
from scripts.sample_data.products import PRODUCTS_PER_KIND, SEED, Sample, generate
from scripts.sample_data.retrieval import to_jsonl
from tunelab.tasks.ecommerce.datasets.sample import SAMPLE_FILES, sample_dir
from tunelab.tasks.ecommerce.taxonomy import Taxonomy

DATA_CARD = "DATA_CARD.md"
__all__ = ["DATA_CARD", "PRODUCTS_PER_KIND", "SEED", "Sample", "generate", "write"]


def write(out_dir: str | Path | None = None, seed: int = SEED) -> list[Path]:
    """Generate the sample and write the three JSONL files and the data card into `out_dir`
    (the packaged folder by default). Returns the paths written."""
    out = Path(out_dir) if out_dir is not None else sample_dir()
    out.mkdir(parents=True, exist_ok=True)
    taxonomy = Taxonomy.load()
    sample = generate(seed, taxonomy)
    contents = {
        SAMPLE_FILES["products"]: to_jsonl(sample.products),
        SAMPLE_FILES["attributes"]: to_jsonl(sample.attributes),
        SAMPLE_FILES["qa"]: to_jsonl(sample.qa),
        DATA_CARD: data_card(sample, seed, taxonomy),
    }
    paths = []
    for name, text in contents.items():
        path = out / name
        path.write_bytes(text.encode("utf-8"))  # bytes: the same on every platform (no newline translation)
        paths.append(path)
    return paths
