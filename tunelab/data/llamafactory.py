"""LLaMA-Factory datasets, unchanged: a folder with ``dataset_info.json`` naming each dataset's
``file_name`` (a file, or a folder of files of one type), ``formatting`` (alpaca by default,
sharegpt or openai), ``ranking`` (preference data), ``columns`` and ``tags``, and optionally
``num_samples`` (TuneLab keeps the first N valid records; LLaMA-Factory samples at random).
As in LLaMA-Factory, giving ``columns`` (or ``tags``) unsets every column (tag) it does not name.

Alpaca without a response column is pre-training text (``TextRecord``). Hub, script and cloud
datasets, KTO tags and images/videos/audios are refused with a reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from tunelab.data.chat import parse_alpaca, parse_chat
from tunelab.data.errors import DatasetError, FieldError, SkipReport
from tunelab.data.fields import present, text
from tunelab.data.formats import Parser
from tunelab.data.loader import LoadedDataset, finish, parse_rows
from tunelab.data.mapping import Columns, Tags
from tunelab.data.preference import alpaca_preference, messages_preference
from tunelab.data.readers import SUFFIXES, read_rows
from tunelab.data.records import TextRecord

INFO_FILE = "dataset_info.json"
_REMOTE = ("hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name")
_UNSUPPORTED_COLUMNS = ("kto_tag", "images", "videos", "audios")


@dataclass(frozen=True)
class DatasetInfo:
    """One entry of dataset_info.json, resolved."""

    name: str
    file_name: str
    formatting: str = "alpaca"
    ranking: bool = False
    columns: Columns = Columns()
    tags: Tags = Tags()
    num_samples: int | None = None


def parse_dataset_info(name: str, entry: Any, info_file: str = INFO_FILE) -> DatasetInfo:
    """Resolve one dataset_info.json entry; DatasetError with the reason when TuneLab cannot use it."""

    def fail(reason: str) -> DatasetError:
        return DatasetError(info_file, f"dataset '{name}': {reason}")

    if not isinstance(entry, dict):
        raise fail("expected an object")
    remote = [k for k in _REMOTE if k in entry]
    if remote:
        raise fail(f"'{remote[0]}' datasets are downloaded; TuneLab reads local files only: download it and set 'file_name'")
    if not isinstance(entry.get("file_name"), str):
        raise fail("'file_name' missing")
    formatting = entry.get("formatting", "alpaca")
    if formatting not in ("alpaca", "sharegpt", "openai"):
        raise fail(f"unknown formatting '{formatting}' (expected alpaca, sharegpt or openai)")
    for key in ("columns", "tags"):
        if key in entry and not isinstance(entry[key], dict):
            raise fail(f"'{key}' must be an object")
    given = entry.get("columns", {})
    bad = [c for c in _UNSUPPORTED_COLUMNS if given.get(c)]
    if bad:
        raise fail(f"column '{bad[0]}' is not supported by TuneLab yet (KTO and multimodal data)")
    columns = Columns(**{f.name: given.get(f.name) for f in fields(Columns)}) if "columns" in entry else Columns()
    tags = Tags(**{f.name: entry["tags"].get(f.name) for f in fields(Tags)}) if "tags" in entry else Tags()
    ranking = bool(entry.get("ranking", False))
    if ranking and not (columns.chosen and columns.rejected):
        raise fail("'ranking' is true but 'columns' names no 'chosen' and 'rejected' columns")
    if formatting != "alpaca" and not columns.messages:
        raise fail("'columns' names no 'messages' column")
    if formatting != "alpaca" and not (tags.role_tag and tags.content_tag):
        raise fail("'tags' must name 'role_tag' and 'content_tag'")
    num = entry.get("num_samples")
    if num is not None and (not isinstance(num, int) or num < 1):
        raise fail("'num_samples' must be a positive integer")
    return DatasetInfo(name, entry["file_name"], formatting, ranking, columns, tags, num)


def read_dataset_info(folder: str | Path) -> dict[str, Any]:
    """The raw dataset_info.json of a folder (dataset name -> entry)."""
    path = Path(folder) / INFO_FILE
    if not path.is_file():
        raise DatasetError(str(path), "no such file: a LLaMA-Factory dataset folder holds a dataset_info.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise DatasetError(str(path), f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    if not isinstance(data, dict):
        raise DatasetError(str(path), "expected an object mapping dataset names to their descriptions")
    return data


def pretrain_text(row: dict[str, Any], cols: Columns) -> TextRecord:
    """LLaMA-Factory pre-training data: alpaca with only a prompt column (and maybe a query)."""
    if cols.prompt is None:
        raise FieldError(None, "no 'prompt' column is named in dataset_info.json")
    parts = [text(row.get(cols.prompt), cols.prompt)]
    if present(row, cols.query):
        parts.append(text(row[cols.query], cols.query, allow_empty=True))  # type: ignore[index,arg-type]
    return TextRecord(text="\n".join(p for p in parts if p))


def info_parser(info: DatasetInfo) -> Parser:
    """The record parser a dataset_info entry describes."""
    cols, tags = info.columns, info.tags
    if info.formatting == "alpaca":
        if info.ranking:
            return lambda row: alpaca_preference(row, cols)
        if cols.response is None:  # pre-training: the prompt (+ query) is the text
            return lambda row: pretrain_text(row, cols)
        return lambda row: parse_alpaca(row, cols)
    if info.ranking:
        return lambda row: messages_preference(row, cols, tags)
    return lambda row: parse_chat(row, cols, tags)


def dataset_files(folder: Path, file_name: str) -> list[Path]:
    """The file, or the sorted files of one supported type in the folder, that `file_name` names."""
    path = folder / file_name
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not files:
            raise DatasetError(str(path), f"no dataset files ({', '.join(SUFFIXES)}) in this folder")
        if len({p.suffix.lower() for p in files}) > 1:
            raise DatasetError(str(path), "files of more than one type in this folder; keep one type")
        return files
    if not path.exists():
        raise DatasetError(str(path), "no such file (named by 'file_name' in dataset_info.json)")
    return [path]


def load_llamafactory(
    folder: str | Path, name: str, *, skip_invalid: bool = False, max_reasons: int = 5
) -> LoadedDataset:
    """Load dataset `name` from a LLaMA-Factory data folder (its dataset_info.json and files).
    The returned format is 'alpaca', 'sharegpt' or 'openai', with '-ranking' for preference data
    and 'text' for pre-training data. Errors and skipping as in `load_dataset`."""
    folder = Path(folder)
    info_path = str(folder / INFO_FILE)
    catalogue = read_dataset_info(folder)
    if name not in catalogue:
        known = ", ".join(sorted(catalogue)) or "(none)"
        raise DatasetError(info_path, f"no dataset named '{name}'. Datasets here: {known}")
    info = parse_dataset_info(name, catalogue[name], info_path)
    parser, report, records = info_parser(info), SkipReport(max_reasons=max_reasons), []
    for file in dataset_files(folder, info.file_name):
        records += parse_rows(read_rows(file), parser, skip_invalid=skip_invalid, report=report)
    finish(records, report, str(folder / info.file_name))
    if info.num_samples is not None:
        records = records[: info.num_samples]
    fmt = "text" if info.formatting == "alpaca" and not info.ranking and info.columns.response is None else info.formatting
    return LoadedDataset(records, fmt + ("-ranking" if info.ranking else ""), str(folder / info.file_name), report)
