"""E-commerce pack: the Google Product Taxonomy, [CLASSIFY] / [EXTRACT] / [QA] tasks, schemas and sample data."""
