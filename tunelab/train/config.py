"""Typed recipe configs. Each field carries its help text and default; bad combinations are
refused here, with a sentence a user understands, before any model is loaded.

YAML files in `examples/` are parsed by `load_config(path, overrides)`; `--set key=value` (dotted
keys for nested fields, values parsed as YAML scalars) overrides them (`tunelab.config_files`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from tunelab.config_files import ConfigError, apply_overrides, read_yaml_mapping


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoraSettings(Strict):
    r: int = Field(16, ge=1, le=1024, description="LoRA rank.")
    alpha: float = Field(32, gt=0, description="LoRA scaling numerator (scale = alpha / r).")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the LoRA input.")
    target_modules: Literal["all-linear"] | list[str] = Field(
        "all-linear", description="Modules that get LoRA: 'all-linear' or names such as [q_proj, v_proj].")


class TrainCommon(Strict):
    """Fields every recipe shares."""

    base_model: str = Field("smollm2-135m-instruct", description="Catalogue name of the base model.")
    dataset: str = Field(description="Registered dataset name or a file path (json, jsonl, csv, parquet).")
    dataset_dir: str | None = Field(
        None, description="A LLaMA-Factory data folder (with dataset_info.json): `dataset` and `eval_dataset` then "
                          "name its entries, comma-separated to mix several, as in LLaMA-Factory's own configs.")
    dataset_format: str | None = Field(None, description="Force a dataset format instead of detecting it.")
    eval_dataset: str | None = Field(None, description="Held-out dataset; default: a split of `dataset`.")
    val_fraction: float = Field(0.1, ge=0, lt=1, description="Share of `dataset` held out for eval when no eval_dataset.")
    skip_invalid: bool = Field(False, description="Leave invalid records out (and report them) instead of stopping.")
    seed: int = Field(42, description="Seed for initialisation, data order and dropout: same seed, same run.")
    epochs: float = Field(1.0, gt=0, description="Passes over the training data (fractions allowed).")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimizer steps (overrides epochs).")
    batch_size: int = Field(4, ge=1, description="Samples per micro-batch.")
    grad_accum: int = Field(1, ge=1, description="Micro-batches per optimizer step.")
    learning_rate: float = Field(2e-4, gt=0, description="Peak learning rate.")
    lr_scheduler: Literal["cosine", "linear", "constant"] = Field("cosine", description="Decay after warm-up.")
    warmup_ratio: float = Field(0.05, ge=0, lt=1, description="Share of steps spent warming up linearly from 0.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    max_grad_norm: float | None = Field(1.0, gt=0, description="Clip gradients to this norm; null: no clipping.")
    max_seq_len: int = Field(512, ge=8, description="Samples longer than this are truncated.")
    gradient_checkpointing: bool = Field(False, description="Recompute activations in backward to save memory.")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="auto: bf16 autocast where the device runs it fast (CUDA, CPUs with AMX), else fp32.")
    eval_every: int | None = Field(None, ge=1, description="Evaluate every N steps (always at the end).")
    save_every: int = Field(50, ge=1, description="Write a checkpoint every N optimizer steps.")
    log_every: int = Field(1, ge=1, description="Record train metrics every N steps.")
    adapter_name: str | None = Field(None, description="Registry name of the result; default: the run id.")
    mlflow: bool = Field(False, description="Also log params and metrics to MLflow (needs the mlflow extra).")
    mlflow_tracking_uri: str | None = Field(None, description="MLflow tracking URI; default: MLflow's own.")


class SFTConfig(TrainCommon):
    recipe: Literal["sft"] = "sft"
    method: Literal["lora", "qlora", "full"] = Field("lora", description="lora | qlora (LoRA on a 4-bit NF4 base) | full.")
    quantization: Literal["none", "nf4"] | None = Field(
        None, description="Base weights in 4-bit NF4 (bitsandbytes); qlora sets it.")
    lora: LoraSettings | None = Field(None, description="LoRA settings (lora and qlora).")
    packing: bool = Field(True, description="Padding-free packing: each micro-batch is one row with position ids reset per sample and no attention across samples.")
    group_by_length: bool = Field(False, description="Put samples of similar length in the same micro-batch (sorted within windows of 16 batches): less padding with packing: false, but each micro-batch holds one kind of sample, which can cost quality on short runs.")
    completion_only_loss: bool = Field(True, description="Loss on assistant tokens only (prompt tokens are masked).")
    chat_template: str | None = Field(None, description="Chat template name or Jinja text; default: the model's own.")

    @model_validator(mode="after")
    def _combinations(self) -> SFTConfig:
        if self.method == "full":
            if self.quantization == "nf4":
                raise ValueError("method: full cannot train 4-bit quantized weights; use method: qlora "
                                 "(LoRA on a 4-bit base) or drop quantization.")
            if self.lora is not None:
                raise ValueError("method: full trains every weight; remove the `lora:` section or use method: lora.")
        else:
            self.lora = self.lora or LoraSettings()
        if self.method == "qlora":
            self.quantization = "nf4"
        if self.quantization is None:
            self.quantization = "none"
        if self.method == "lora" and self.quantization == "nf4":
            raise ValueError("quantization: nf4 with method: lora is QLoRA; write method: qlora.")
        return self


class DPOConfig(TrainCommon):
    recipe: Literal["dpo"] = "dpo"
    learning_rate: float = Field(5e-6, gt=0, description="Peak learning rate (DPO wants it small).")
    beta: float = Field(0.1, gt=0, description="DPO temperature: how far the policy may move from the reference.")
    sft_adapter: str | None = Field(None, description="Start from this registered SFT adapter (default: the bare base).")
    lora: LoraSettings = Field(default_factory=LoraSettings, description="LoRA settings of the trained adapter.")
    chat_template: str | None = Field(None, description="Chat template name or Jinja text; default: the model's own.")


class ClassifierConfig(TrainCommon):
    recipe: Literal["classifier"] = "classifier"
    base_model: str = Field("minilm", description="Encoder: 'minilm' (packaged all-MiniLM-L6-v2) or a folder.")
    learning_rate: float = Field(5e-5, gt=0, description="Peak learning rate.")
    max_seq_len: int = Field(128, ge=8, description="Texts longer than this are truncated.")


RecipeConfig = Annotated[SFTConfig | DPOConfig | ClassifierConfig, Field(discriminator="recipe")]
_adapter: TypeAdapter = TypeAdapter(RecipeConfig)


def parse_config(data: dict[str, Any], source: str = "config") -> SFTConfig | DPOConfig | ClassifierConfig:
    data = dict(data)
    data.setdefault("recipe", "sft")
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(x) for x in err["loc"][1:]) or "(top level)"
            msg = "unknown key (not a field of this recipe)" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {where}: {msg}")
        raise ConfigError("\n".join(lines)) from None


def load_config(path: str | Path, overrides: list[str] = ()) -> SFTConfig | DPOConfig | ClassifierConfig:
    data = apply_overrides(read_yaml_mapping(path, ConfigError), overrides)
    return parse_config(data, str(path))
