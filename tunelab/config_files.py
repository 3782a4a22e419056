"""Config files as plain data: `read_yaml_mapping` reads a YAML file that must hold a mapping, and
`apply_overrides` applies `--set key.sub=value` assignments (values parsed as YAML scalars) to it.
Training recipes and eval configs both build on these, then validate the dict with their own models."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml


class ConfigError(ValueError):
    """A config that cannot be read or an override that cannot be applied; the message says which."""


def read_yaml_mapping(path: str | Path, error: type[Exception] = ValueError, what: str = "config") -> dict:
    """The YAML mapping in `path`; `error` (naming the file) when it cannot be read, is not YAML, or
    is not a mapping at the top level. Recipe and eval configs both read their files with it."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise error(f"Cannot read {what} {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise error(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise error(f"{path}: the top level must be a mapping of keys to values")
    return data


def apply_override(data: dict, assignment: str) -> None:
    """Apply one `key.sub=value` to a nested dict; the value is parsed as YAML (1e-4, true, [a, b])."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected key=value")
    key, raw = assignment.split("=", 1)
    parts = key.strip().split(".")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {assignment!r}: {p} is not a section")
    node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else None


def apply_overrides(data: dict, assignments: Iterable[str]) -> dict:
    """`apply_override` for each assignment in order (a later one wins); returns `data`."""
    for assignment in assignments:
        apply_override(data, assignment)
    return data
