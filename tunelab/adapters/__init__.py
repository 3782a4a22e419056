"""Adapters: a registry keyed by name with lineage (base model + its hash, data, config, seed,
versions, parents), merging several LoRA adapters into one (PEFT's `add_weighted_adapter`), and
export as a PEFT folder, as a plain merged model folder, or as one GGUF file for llama.cpp and
Ollama (with a Modelfile)."""

from tunelab.adapters.errors import AdapterError, UnknownAdapterError
from tunelab.adapters.export import export_adapter, export_merged
from tunelab.adapters.gguf_export import GGUF_QUANTS, GGUFExport, export_gguf
from tunelab.adapters.lineage import base_model_hash, library_versions, model_fingerprint
from tunelab.adapters.merge import MERGE_METHODS, merge_adapters
from tunelab.adapters.registry import KINDS, AdapterInfo, AdapterRegistry

__all__ = [
    "GGUF_QUANTS", "KINDS", "MERGE_METHODS", "AdapterError", "AdapterInfo", "AdapterRegistry", "GGUFExport",
    "UnknownAdapterError", "base_model_hash", "export_adapter", "export_gguf", "export_merged", "library_versions",
    "merge_adapters", "model_fingerprint",
]
