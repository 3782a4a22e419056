"""`EvalConfig`: what one evaluation run compares, on which data, and the gates it must pass.

Built from YAML by `load_eval_config(path, overrides)` (`--set key=value` overrides, as for training
recipes) or from CLI flags by `eval_config_from(data)`; unknown keys and bad combinations are refused
with the file and key named, before any model is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tunelab.config_files import apply_overrides, read_yaml_mapping
from tunelab.eval.gate import parse_gate

TASKS = ("classify", "extract", "qa", "preference", "retrieval")
KNN_CANDIDATES = 10  # classify's default budgets of the knn and BM25 candidate sources (docs/ecommerce.md: why)
BM25_CANDIDATES = 10


class EvalConfigError(ValueError):
    """A config a run cannot start from; the message names the file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JudgeConfig(_Strict):
    """LLM-as-judge: a model scores every output 1-5 against a rubric."""

    model: str = Field(description="The judge: a catalogue model, an adapter or `upstream/model`.")
    rubric: str | None = Field(
        None, description="Rubric text, or the path of a file holding it; default: the task's own rubric.")
    max_tokens: int = Field(128, ge=16, le=4096, description="Most tokens the judge may write per verdict.")

    def rubric_text(self) -> str | None:
        """The rubric: the file's text when `rubric` names an existing file, else `rubric` itself."""
        if self.rubric is None:
            return None
        candidate = self.rubric.strip()
        if "\n" not in candidate and len(candidate) < 4096:
            path = Path(candidate).expanduser()
            try:
                if path.is_file():
                    return path.read_text(encoding="utf-8")
            except OSError as exc:
                raise EvalConfigError(f"judge.rubric: cannot read {path}: {exc.strerror or exc}") from None
        return self.rubric


SHIPPED_SPLITS = ("train", "validation", "test", "real")  # real: classify's hand-labelled titles


class EvalConfig(_Strict):
    """One evaluation run: every model over every example of a split, at temperature 0."""

    task: Literal["classify", "extract", "qa", "preference", "retrieval"] = Field(
        description="classify (Google Product Taxonomy category), extract (attributes to JSON), "
                    "qa (answer from review snippets), preference (does the model give the chosen answer of "
                    "each pair in `data` a higher length-normalised log-likelihood than the rejected one?) or "
                    "retrieval (search a RAG collection).")
    models: list[str] = Field(
        default_factory=list,
        description="Models compared, the baseline first: catalogue model names, adapter names or "
                    "`upstream/model`. Adapters of one base model share one engine, so their requests batch together.")
    predictions: list[str] = Field(
        default_factory=list,
        description="JSONL files of precomputed predictions ({\"id\": ..., \"prediction\": ...} per line), each "
                    "compared as one more column named after the file; with no models they alone are compared.")
    split: str = Field(
        "test", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
        description="Which split of the data to evaluate on: train, validation or test; classify without `data` also "
                    "`real`, the packaged hand-labelled real-style product titles (kept out of all training data) "
                    "instead of the synthetic sample. With `data`, any split its records name; a `data` file with no "
                    "split fields is used whole.")
    data: str | None = Field(
        None, description="Your own file instead of the shipped sample: TuneLab products JSONL with category ids "
                          "(classify), MAVE JSONL (extract) or AmazonQA JSONL (qa); preference pairs (preference, "
                          "which has no sample and needs it).")
    taxonomy: str | None = Field(
        None, description="classify: a taxonomy file in the Google format ('ID - Level1 > Level2'); default: the "
                          "packaged Google Product Taxonomy.")
    limit: int | None = Field(None, ge=1, description="Evaluate only the first N examples of the split.")
    k: int = Field(5, ge=1, le=100, description="classify: ranked categories kept per product (topK_accuracy).")
    candidates: int = Field(20, ge=0, le=1000, description="classify: categories retrieved by embedding before the model ranks them.")
    knn_candidates: int = Field(
        KNN_CANDIDATES, ge=0, le=200,
        description="classify: categories the nearest labelled products of `catalogue` add to the candidates (0: none).")
    bm25_candidates: int = Field(
        BM25_CANDIDATES, ge=0, le=200,
        description="classify: categories whose names and synonyms share the title's words (BM25) add to the "
                    "candidates (0: none).")
    answer_mode: Literal["auto", "grounded", "free"] = Field(
        "auto", description="qa: grounded (the answer is the snippet sentence that answers, chosen by likelihood), "
        "free (the model writes it) or auto (grounded for local models under 3B parameters).")
    ranking: Literal["hybrid", "likelihood", "mean-likelihood"] | None = Field(
        None, description="classify: how the model's scores rank the candidates: hybrid (default: per-token mean "
                          "log-likelihood plus the retrieval evidence), likelihood (total) or mean-likelihood.")
    length_normalized: bool = Field(
        False, description="classify: the older form of ranking: mean-likelihood (when ranking is not given).")
    catalogue: str | None = Field(
        None, description="classify: labelled products (TuneLab products file; its train split when it has splits) "
                          "whose nearest neighbours vote for candidates; default: the sample's train split.")
    attributes: str | list[str] | dict[str, Any] | None = Field(
        None, description="extract: the attributes to extract: names ('Color, Size' or a list; each a string) or a "
                          "mapping name -> type (string, number, integer, boolean, or a list of allowed values); "
                          "default: each record's own attribute keys.")
    judge: JudgeConfig | None = Field(None, description="LLM-as-judge: {model, rubric}; adds the `judge` metric (mean 1-5).")
    gate: list[str] = Field(
        default_factory=list,
        description="Checks every candidate must pass, e.g. 'f1 >= baseline + 0.02' or 'accuracy > 0.5'; "
                    "a failed one makes `tunelab eval` exit 1.")
    out: str | None = Field(None, description="Report folder; default: <home>/evals/<run id>.")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="Weights and activations of local models: auto (bf16 where the device runs it fast: "
                            "CUDA, or a CPU with AMX tiles; else fp32), fp32, or bf16.")
    concurrency: int = Field(32, ge=1, le=4096, description="Requests in flight per model (the engine batches them).")
    report_examples: int = Field(50, ge=0, description="Examples shown side by side in the HTML report.")
    collection: str | None = Field(
        None, description="retrieval: the RAG collection searched; default: the sample catalogue, ingested on first use.")
    modes: list[str] = Field(
        default_factory=lambda: ["bm25", "dense", "hybrid"],
        description="retrieval: the search modes compared (dense, bm25, hybrid, or one of them +rerank), the first "
                    "as baseline.")
    rerank: str | None = Field(
        None, description="retrieval: a cross-encoder (folder or name) to rerank with; adds the column hybrid+rerank.")

    @field_validator("models", "predictions", "gate")
    @classmethod
    def _no_blank(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v for v in cleaned):
            raise ValueError("entries must not be empty")
        return cleaned

    @field_validator("gate")
    @classmethod
    def _gates_parse(cls, values: list[str]) -> list[str]:
        for text in values:  # a typo is refused when the run is asked for, not after its models ran
            parse_gate(text)
        return values

    @model_validator(mode="after")
    def _combinations(self) -> EvalConfig:
        if self.task == "retrieval":  # its own checks (modes, rerank, models + judge) live in tunelab.eval.retrieval
            return self
        columns = self.models + [Path(p).stem for p in self.predictions]
        if not columns:
            raise ValueError(f"task {self.task} needs at least one model (the baseline first) or a predictions file.")
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        if dupes:
            raise ValueError(f"{', '.join(dupes)} appears twice among the models and prediction files; "
                             "each compared column needs its own name.")
        if self.attributes is not None and self.task != "extract":
            raise ValueError("`attributes` is for task extract only.")
        if self.taxonomy is not None and self.task != "classify":
            raise ValueError("`taxonomy` is for task classify only.")
        if self.catalogue is not None and self.task != "classify":
            raise ValueError("`catalogue` is for task classify only.")
        if self.data is None and self.split not in SHIPPED_SPLITS:
            raise ValueError(f"split {self.split!r}: the shipped data has {', '.join(SHIPPED_SPLITS)}; another split "
                             "name is for your own `data` file, whose records name it.")
        if self.split == "real" and self.task != "classify" and self.data is None:
            raise ValueError("split `real` (the hand-labelled real-style product titles) is for task classify; "
                             "the sample's other tasks have train, validation and test.")
        if self.task == "classify" and self.candidates + self.knn_candidates + self.bm25_candidates < 1:
            raise ValueError("candidates, knn_candidates and bm25_candidates are all 0: classify needs candidates.")
        return self

    @property
    def columns(self) -> list[str]:
        """The compared columns in order: the models, then one per predictions file (named by its stem)."""
        if self.task == "retrieval":
            return list(self.modes)
        return self.models + [Path(p).stem for p in self.predictions]


def eval_config_from(data: dict[str, Any], source: str = "eval config") -> EvalConfig:
    """Validate a dict as an `EvalConfig`; errors name `source` and the key."""
    try:
        return EvalConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(x) for x in err["loc"]) or "(top level)"
            if err["type"] == "extra_forbidden":
                msg = f"unknown key; eval config keys are: {', '.join(EvalConfig.model_fields)}"
            else:
                msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {where}: {msg}")
        raise EvalConfigError("\n".join(lines)) from None


def load_eval_config(path: str | Path | None, overrides: list[str] = (), base: dict[str, Any] | None = None) -> EvalConfig:
    """Read an eval YAML (or start from `base` alone when `path` is None), apply `key=value` overrides
    (dotted keys for nested fields, values parsed as YAML), validate."""
    data: dict[str, Any] = dict(base or {})
    source = "command line"
    if path is not None:
        source = str(path)
        loaded = read_yaml_mapping(path, EvalConfigError, "eval config")
        data = {**loaded, **data}
    return eval_config_from(apply_overrides(data, overrides), source)
