"""The generator of the synthetic e-commerce sample shipped in `tunelab/tasks/ecommerce/data/sample/`:
hand-written vocabularies (`vocab.json`, read by `vocab`), sentence templates (`templates`), the
product, attribute and Q&A rows (`products`), the retrieval questions (`retrieval`) and the data card
(`card`). Regenerate every file, from the repository root, with `python -m scripts.sample_data`."""
