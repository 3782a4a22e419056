"""Datasets: read JSON/JSONL/CSV/Parquet files and LLaMA-Factory dataset folders into typed records
(chat, preference, classification, text), with errors that name file, line and field; then hash,
dedup, split and describe them. Pure functions over lists of records wherever possible."""

from tunelab.data.dedup import DedupResult, dedup, normalize_text
from tunelab.data.errors import DatasetError, FieldError, Location, SkipReport
from tunelab.data.formats import FORMATS, detect_format, get_parser
from tunelab.data.hashing import canonical_json, dataset_hash, record_hash
from tunelab.data.llamafactory import DatasetInfo, load_llamafactory, parse_dataset_info, read_dataset_info
from tunelab.data.loader import LoadedDataset, load_dataset
from tunelab.data.readers import read_rows
from tunelab.data.records import (
    ChatRecord,
    ClassificationRecord,
    Message,
    PreferenceRecord,
    Record,
    TextRecord,
    record_from_dict,
    record_to_row,
)
from tunelab.data.split import train_val_split
from tunelab.data.stats import DatasetStats, LengthStats, dataset_stats
from tunelab.data.writers import write_jsonl

__all__ = [
    "FORMATS", "ChatRecord", "ClassificationRecord", "DatasetError", "DatasetInfo", "DatasetStats",
    "DedupResult", "FieldError", "LengthStats", "LoadedDataset", "Location", "Message", "PreferenceRecord",
    "Record", "SkipReport", "TextRecord", "canonical_json", "dataset_hash", "dataset_stats", "dedup",
    "detect_format", "get_parser", "load_dataset", "load_llamafactory", "normalize_text", "parse_dataset_info",
    "read_dataset_info", "read_rows", "record_from_dict", "record_hash", "record_to_row", "train_val_split",
    "write_jsonl",
]
