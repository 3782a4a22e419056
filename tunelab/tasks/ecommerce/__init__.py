"""E-commerce pack: the Google Product Taxonomy, the [CLASSIFY] / [EXTRACT] tasks and the [QA] prompt
(answered by `tunelab.rag.cited_qa`), schemas and the packaged sample data."""
