"""LoRA on an int8 base: PEFT's LoRA Linear around an `Int8Linear`, the adapter's A and B kept in
fp32. PEFT wraps only the layer types it knows; `lora_config_for_int8` registers this one as a
custom module on the adapter's config (PEFT's `_register_custom_module`), so that loading an
adapter onto a quantized model wraps its int8 layers. Unmerged only: merging into an int8 weight
would lose the adapter's precision, so merge from the fp32 model (`tunelab adapters merge`).

Imports peft: import this module lazily.
"""

from __future__ import annotations

from pathlib import Path

from peft import LoraConfig
from peft.tuners.lora.layer import Linear as LoraLinear

from tunelab.models.errors import ModelError
from tunelab.models.int8 import Int8Linear


class Int8LoraLinear(LoraLinear):
    """base(x) from the int8 kernel, plus B(A(x)) * scaling in fp32 (PEFT's own forward, which also
    runs mixed-adapter batches)."""

    def merge(self, safe_merge: bool = False, adapter_names: list[str] | None = None) -> None:
        raise ModelError("A LoRA adapter cannot be merged into an int8 base model: merge it on the fp32 model "
                         "(tunelab adapters merge), then quantize the result.")

    def unmerge(self) -> None:
        raise ModelError("An int8 base model has no merged LoRA adapter to unmerge.")


def lora_config_for_int8(path: str | Path) -> LoraConfig:
    """The adapter's LoraConfig, with `Int8LoraLinear` registered for `Int8Linear` layers."""
    cfg = LoraConfig.from_pretrained(str(path))
    if cfg.use_dora:
        raise ModelError(f"Adapter {path} uses DoRA, which needs the base weight in float: "
                         f"load the base model without int8 quantization.")
    cfg._register_custom_module({Int8Linear: Int8LoraLinear})
    return cfg
