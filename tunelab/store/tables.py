"""ORM tables. Every change here needs a new migration in `migrations/versions/`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ModelEntry(Base):
    """A base model the user registered: a local HF folder, a GGUF file or a hub id."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # folder | gguf | hub
    source: Mapped[str] = mapped_column(Text)
    chat_template: Mapped[str | None] = mapped_column(Text, nullable=True)  # builtin name or jinja text
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DatasetEntry(Base):
    """A dataset registered with `tunelab data add`: where it is, what it holds, its content hash."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    path: Mapped[str] = mapped_column(Text)  # the normalised copy under the home dir
    source: Mapped[str] = mapped_column(Text)  # the file the user gave
    format: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    num_records: Mapped[int] = mapped_column(Integer)
    stats: Mapped[dict] = mapped_column(JSON, default=dict)
    preview: Mapped[list] = mapped_column(JSON, default=list)
    # Where the records came from when TuneLab made them (e.g. {"kind": "feedback", "feedback_ids": [...]}).
    provenance: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Run(Base):
    """One training run: its resolved config, status, and where its checkpoints live."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipe: Mapped[str] = mapped_column(String(32))  # sft | dpo | classifier
    status: Mapped[str] = mapped_column(String(16), index=True)  # running | completed | failed
    base_model: Mapped[str] = mapped_column(String(128))
    config: Mapped[dict] = mapped_column(JSON)
    output_dir: Mapped[str] = mapped_column(Text)
    step: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    final_metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    adapter_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RunMetric(Base):
    """A scalar logged by a run at a step (train loss, eval loss, learning rate, tokens/s...)."""

    __tablename__ = "run_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AdapterEntry(Base):
    """A trained (or merged) adapter with its lineage: how exactly it was made."""

    __tablename__ = "adapters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # lora | full | classifier | merged
    path: Mapped[str] = mapped_column(Text)
    base_model: Mapped[str] = mapped_column(String(128))
    base_model_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), nullable=True)
    lineage: Mapped[dict] = mapped_column(JSON, default=dict)  # datasets, config, seed, versions, parents
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    wall_time_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    """An API key for the server; only a salted hash of the secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)  # first characters, to find the row
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # = "admin" in scopes
    # What it may call: comma-separated scope names (admin, train, infer; tunelab/serve/scopes.py).
    scopes: Mapped[str] = mapped_column(String(64), default="infer,train", server_default="infer,train")
    rpm: Mapped[int | None] = mapped_column(Integer, nullable=True)  # requests a minute; None: the server default
    tpm: Mapped[int | None] = mapped_column(Integer, nullable=True)  # tokens a minute; None: the server default


class Collection(Base):
    """A RAG collection: its documents share one embedding model (name and dimension)."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    embedding_model: Mapped[str] = mapped_column(Text)
    dimension: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # chunk sizes, field mapping, vector URL
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Document(Base):
    """A raw document of a collection, keyed by its source; its hash decides re-ingest."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("collection_id", "source", name="uq_documents_collection_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(Text)  # path, URL, or file#record-id for catalogue rows
    doc_type: Mapped[str] = mapped_column(String(32))  # markdown | text | html | pdf | product | code
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    num_chunks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IngestReport(Base):
    """Counts of one `tunelab ingest` per source: added, unchanged, updated, failed (with reasons)."""

    __tablename__ = "ingest_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(Text)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    failures: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Upstream(Base):
    """A remote OpenAI-compatible server (another TuneLab, vLLM, a hosted API) whose models the server
    forwards to. The API key is kept as given: the server must send it, so it cannot be hashed."""

    __tablename__ = "upstreams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    base_url: Mapped[str] = mapped_column(Text)  # as an OpenAI client's base_url, e.g. http://host:8000/v1
    api_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default="openai")  # openai | vllm
    models: Mapped[list] = mapped_column(JSON, default=list)  # empty: ask the upstream's /models
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EvalRunEntry(Base):
    """One evaluation run (`tunelab eval`): the models compared, their metrics, where the report is."""

    __tablename__ = "eval_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    task: Mapped[str] = mapped_column(String(32))  # classify | extract | qa | retrieval
    split: Mapped[str] = mapped_column(String(16))
    models: Mapped[list] = mapped_column(JSON, default=list)  # baseline first
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)  # model -> metric -> value
    params: Mapped[dict] = mapped_column(JSON, default=dict)  # the run's config, gates and their outcomes
    report_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # running | completed | failed
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class Job(Base):
    """A long task run in the background (`tunelab.jobs`): its kind and full input, where it is in the
    queue, which worker runs it and when that worker last showed it is alive, and how it ended."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # train | eval | ingest | merge | export | quickstart
    config: Mapped[dict] = mapped_column(JSON, default=dict)  # the validated input, as submitted
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued | running | succeeded | failed | cancelled
    priority: Mapped[int] = mapped_column(Integer, default=0)  # higher runs first
    position: Mapped[int] = mapped_column(Integer, default=0)  # order among queued jobs of one priority
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # API key name; None: local
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # times a worker started it
    worker: Mapped[str | None] = mapped_column(String(128), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[dict] = mapped_column(JSON, default=dict)  # run_id, adapter, eval_run_id, collection, ...
    error_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    log_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class JobEvent(Base):
    """What a job's followers are told, in order: log lines, metric points, status changes. The id is
    the stream's position (server-sent events' Last-Event-ID)."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # log | metric | status
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Feedback(Base):
    """A judgement of answers to one prompt (the chat playground, or any API client): a rating of one
    answer, an edit of it into a better one, or the better of side-by-side answers. `answers` is the
    list as posted ({model, adapter, text}); `feedback_answers` indexes who answered, for filtering."""

    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # API key name; None: local
    messages: Mapped[list] = mapped_column(JSON, default=list)  # the prompt: chat messages, ending with the user's
    answers: Mapped[list] = mapped_column(JSON, default=list)
    answer_index: Mapped[int] = mapped_column(Integer, default=0)  # the answer `rating` and `edit` are about
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)  # +1 | -1
    edit: Mapped[str | None] = mapped_column(Text, nullable=True)  # the user's better version of that answer
    choice: Mapped[int | None] = mapped_column(Integer, nullable=True)  # index of the better side-by-side answer
    source: Mapped[str] = mapped_column(String(32), default="playground")
    conversation_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class FeedbackAnswer(Base):
    """Who gave answer `position` of a feedback record: its model and adapter, so feedback can be
    filtered by either in SQL (the texts stay in `feedback.answers`)."""

    __tablename__ = "feedback_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feedback_id: Mapped[str] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(128), index=True)
    adapter: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
