"""Domain task packs: prompts, schemas, data and task APIs built on the library (e-commerce first)."""
