"""The one place that reads the environment.

`Settings()` reads `TUNELAB_*` variables (and a `.env` file if present) once; every other module
receives a `Settings` instance as an argument instead of looking at `os.environ` itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Application settings. Each field can be set as `TUNELAB_<FIELD>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="TUNELAB_", env_file=".env", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path.home() / ".tunelab",
        description="Directory holding the database, converted models, adapters, indexes and logs.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata store; default: a SQLite file under the home dir.",
    )
    vector_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (`chroma run`) for RAG collections; default: embedded Chroma under the home dir.",
    )
    default_model: str = Field(
        default="smollm2-135m-instruct", description="Catalogue name used when no --model is given."
    )
    device: str = Field(default="auto", description="'auto', 'cpu', 'cuda' or 'cuda:N'.")
    hub_timeout_s: float = Field(
        default=10.0, gt=0, description="Seconds to wait for the Hugging Face Hub before giving up."
    )
    hub_offline: bool = Field(
        default=False, description="Never contact a model hub; only local folders, files and caches."
    )
    taxonomy: Path | None = Field(
        default=None,
        description="Product taxonomy file (Google format: 'ID - Level1 > Level2') for /v1/tasks/classify; "
                    "default: the packaged Google Product Taxonomy.",
    )
    classify_catalogue: Path | None = Field(
        default=None,
        description="Labelled products file (TuneLab products JSONL; its train split when it has splits) whose nearest "
                    "neighbours vote for candidate categories in /v1/tasks/classify; default: the packaged sample's "
                    "train split.",
    )
    progress_interval_s: float = Field(
        default=5.0, ge=0,
        description="When output is not a terminal (a pipe, a log file): seconds between plain progress lines.",
    )
    # Resource limits (the server and the CLI both respect them).
    max_new_tokens: int = Field(default=4096, ge=1, description="Upper bound on tokens generated per request.")
    max_context_tokens: int | None = Field(
        default=None, ge=16, description="Cap on prompt + generation length; default: the model's own limit."
    )
    torch_threads: int | None = Field(default=None, ge=1, description="CPU threads for torch; default: torch's choice.")
    # Serving (`tunelab serve`).
    max_request_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="Largest HTTP request body the server accepts (413 beyond)."
    )
    max_queue: int = Field(default=256, ge=1, description="Generation requests that may wait in the queue (429 beyond).")
    max_batch_size: int = Field(default=16, ge=1, description="Sequences decoded together by the batching engine.")
    prefix_cache_mb: int = Field(
        default=256, ge=0, description="Memory for the KV of prompt prefixes that requests share (chat templates, "
        "task instructions, RAG context), reused by the batching engine; 0 turns the prefix cache off.")
    fast_decode: bool = Field(
        default=True, description="Decode a request that runs alone with the lean Llama step on a static KV cache "
        "(the batching engine; other models take the model's own forward); false: always the model's forward.")
    job_slots: int = Field(default=1, ge=1, description="Jobs one worker runs at once (its device's concurrency).")
    job_heartbeat_s: float = Field(default=5.0, gt=0, description="How often a worker stamps the jobs it runs.")
    job_stale_after_s: float = Field(
        default=30.0, gt=0, description="A running job whose worker has not stamped it for this long is taken over.")
    job_max_attempts: int = Field(default=3, ge=1, description="Times a job is started before a dead worker fails it.")
    quantize: Literal["none", "int8"] = Field(
        default="none",
        description="How the base model's weights are held for generation (serve, eval, ask): none, or int8 "
                    "(Linear layers in int8 on the CPU, LoRA adapters in fp32 on top; tunelab.models.int8).",
    )
    max_loaded_adapters: int = Field(
        default=8, ge=1, description="Adapters kept on the base model at once; the least recently used goes first."
    )
    upstream_timeout_s: float = Field(
        default=120.0, gt=0, description="Seconds to wait for a remote OpenAI-compatible upstream to answer."
    )
    upstream_retries: int = Field(
        default=3, ge=0, description="Retries (exponential backoff) when an upstream answers 429 or 5xx."
    )
    rate_limit_rpm: int = Field(
        default=0, ge=0, description="Requests a minute per API key unless the key sets its own (--rpm); 0: no limit.")
    rate_limit_tpm: int = Field(
        default=0, ge=0, description="Tokens (prompt + max_tokens, corrected to the usage) a minute per API key "
                                     "unless the key sets its own (--tpm); 0: no limit.")
    allowed_paths: str = Field(
        default="", description="Folders besides the home dir that request parameters may name (dataset "
                                "files, export targets...), separated by ':'; nothing else is read or written.")
    session_ttl_s: float = Field(
        default=12 * 3600, gt=0, description="How long a dashboard login lasts before the key is asked again."
    )

    # Monitoring: request traces (opt-in) and quality alerts.
    trace: str = Field(
        default="", description="Which requests the server traces into the store: '' (none, the default), 'all', "
        "or a comma list of model:NAME and key:NAME (e.g. 'model:shop-lora,key:ci').")
    trace_max_rows: int | None = Field(
        default=10000, ge=1, description="Traces kept; the oldest go when a new one is written.")
    trace_max_age_days: float | None = Field(
        default=30.0, gt=0, description="Traces older than this go when a new one is written.")
    trace_redact: list[str] = Field(
        default_factory=list, description="Regexes (a JSON list) whose matches are replaced by [REDACTED] in "
        "traced prompts and responses, besides e-mail addresses, card numbers and phone numbers.")
    otel: bool = Field(
        default=False, description="Emit an OpenTelemetry span per traced request (needs the `otel` extra).")
    alert_webhook: str | None = Field(
        default=None, description="URL that receives a JSON POST for each alert a scheduled evaluation raises "
        "(a schedule's own webhook comes first).")

    @field_validator("trace", mode="after")
    @classmethod
    def _trace_rules(cls, v: str) -> str:
        for item in filter(None, (i.strip() for i in v.split(","))):
            if item != "all" and not re.fullmatch(r"(model|key):\S+", item):
                raise ValueError(f"trace: {item!r} is not 'all', 'model:NAME' or 'key:NAME'")
        return v

    @field_validator("trace_redact", mode="after")
    @classmethod
    def _regexes_compile(cls, v: list[str]) -> list[str]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"trace_redact: {pattern!r} is not a valid regex ({exc})") from None
        return v

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'tunelab.db'}"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def rag_dir(self) -> Path:
        """Embedded Chroma data and per-collection BM25 indexes."""
        return self.home / "rag"

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home
