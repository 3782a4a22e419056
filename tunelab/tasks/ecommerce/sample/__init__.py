"""The synthetic e-commerce sample: hand-written vocabularies (`vocab`), sentence templates
(`templates`), the generator that writes `tunelab/tasks/ecommerce/data/sample/` (`generate`) and its
data card (`card`)."""
