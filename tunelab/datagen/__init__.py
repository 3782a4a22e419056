"""Datasets made and cleaned with models: `generate_dataset` turns documents, a RAG collection or the
product catalogue into instruction, preference or QA records through any model TuneLab reaches
(constrained JSON, resumable, each record with the chunk it came from); `curate_dataset` removes
duplicates, near-duplicates, eval-split leaks and poor records, saying how many each step removed."""
