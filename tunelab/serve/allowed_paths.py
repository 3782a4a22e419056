"""No request parameter makes the server read or write outside its home dir (TUNELAB_HOME) and the
folders the admin allowed (TUNELAB_ALLOWED_PATHS, separated by ':').

`resolve_allowed(value, field, settings)` is the one resolver: it expands `~`, makes a relative path
absolute (against the server's working directory, as the library would open it), resolves symlinks
and `..`, then checks the result is inside one of the allowed roots; outside, a 403 naming the field.
`check_paths(config, fields, settings, where)` applies it to the path fields of a request's body
(tables below: a job's config by kind, a recipe), replacing each with its resolved path, so what runs
is exactly what was checked.

Two kinds of field: WRITE fields (report and export folders, an MLflow store) are always paths;
NAME fields hold a registered name or a path (a dataset, a base model folder, a chat template or a
rubric file), and are checked as a path when they look like one (absolute, ~, ./ or ../) or name an
existing file or folder. URLs (http, https) and `collection:NAME` are left alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunelab.serve.errors import APIError, ForbiddenError
from tunelab.settings import Settings

WRITE, NAME, URI = "write", "name_or_path", "uri"

RECIPE_PATHS = {"dataset": NAME, "eval_dataset": NAME, "dataset_dir": NAME, "base_model": NAME,
                "chat_template": NAME, "mlflow_tracking_uri": URI}
EVAL_PATHS = {"data": NAME, "predictions": NAME, "taxonomy": NAME, "catalogue": NAME, "rerank": NAME,
              "judge.rubric": NAME, "out": WRITE}
# job kind -> dotted field of its config -> kind of field
JOB_PATHS: dict[str, dict[str, str]] = {
    "train": {**{f"recipe.{k}": v for k, v in RECIPE_PATHS.items()},
              **{f"eval_after.{k}": v for k, v in EVAL_PATHS.items()}},
    "eval": {f"eval.{k}": v for k, v in EVAL_PATHS.items()},
    "ingest": {"sources": NAME, "embedding_model": NAME},
    "generate_data": {"sources": NAME},
    "export": {"out": WRITE},
    "merge": {},
    "quickstart": {},
}


class PathNotAllowedError(ForbiddenError):
    pass


def allowed_roots(settings: Settings) -> list[Path]:
    extra = [Path(p).expanduser().resolve() for p in settings.allowed_paths.split(":") if p.strip()]
    return [settings.home.resolve(), *extra]


def resolve_allowed(value: str, field: str, settings: Settings) -> Path:
    """`value` as the absolute, symlink-free path it names, when that is inside an allowed root."""
    if "\x00" in value:
        raise APIError(f"{field}: a path cannot hold a NUL character.", param=field, code="invalid_path")
    try:
        real = (Path.cwd() / Path(value).expanduser()).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, an unknown ~user...
        raise APIError(f"{field}: '{value}' is not a usable path ({exc}).", param=field, code="invalid_path") from None
    roots = allowed_roots(settings)
    if not any(real.is_relative_to(root) for root in roots):
        raise PathNotAllowedError(
            f"{field}: the path '{value}' is outside the folders this server may use (its home {roots[0]} and "
            "TUNELAB_ALLOWED_PATHS); put the file there or ask the admin to allow its folder.",
            param=field, code="path_not_allowed")
    return real


def _looks_like_path(value: str) -> bool:
    if value.startswith(("/", "~", "./", "../")) or value in (".", "..") or "/../" in value or value.endswith("/.."):
        return True
    try:
        return Path(value).expanduser().exists()
    except (OSError, RuntimeError, ValueError):
        return True  # not even stat-able: let the resolver say why


def _checked(value: str, kind: str, field: str, settings: Settings) -> str:
    if value.startswith(("http://", "https://")) or value.startswith("collection:"):
        return value
    if kind == URI:
        if value.startswith("file:"):
            return "file://" + str(resolve_allowed(value.removeprefix("file:").removeprefix("//"), field, settings))
        if "://" in value:  # a tracking server (http, databricks...) or a database: not a file of ours
            return value
    if kind == NAME and not _looks_like_path(value):
        return value
    return str(resolve_allowed(value, field, settings))


def check_paths(config: Any, fields: dict[str, str], settings: Settings, where: str = "") -> Any:
    """A copy of `config` with each path field resolved (403 for one outside the allowed folders).
    Values of a wrong type are left for the config's own validation to refuse."""
    if not isinstance(config, dict):
        return config
    out = dict(config)
    for dotted, kind in fields.items():
        *parents, leaf = dotted.split(".")
        node = out
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                break
            node[part] = child = dict(child)
            node = child
        else:
            value, field = node.get(leaf), f"{where}.{dotted}" if where else dotted
            if isinstance(value, str):
                node[leaf] = _checked(value, kind, field, settings)
            elif isinstance(value, list):
                node[leaf] = [_checked(v, kind, f"{field}[{i}]", settings) if isinstance(v, str) else v
                              for i, v in enumerate(value)]
    return out
