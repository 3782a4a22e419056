"""Base models: the catalogue (the packaged default, local folders, GGUF files, hub ids), loading a
model and its tokenizer (the one place that does), GGUF conversion, chat templates, and the
embedding, encoder and reranker models."""
