"""What the dataset pages read beyond the list (on `app.state.dataset_views`): a page of a
registered dataset's records, read from its normalised copy, and its statistics with token lengths
in the served base model's tokens (or another catalogue model's) as a histogram. A dataset never
changes under its name, so lengths are kept per (name, content hash, tokenizer). Blocking: routes
call these in a worker thread."""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from tunelab.data.formats import FORMATS
from tunelab.data.registry import DatasetRegistry, DatasetRegistryError
from tunelab.data.stats import length_histogram, length_stats, record_length
from tunelab.models.loader import LoadedModel
from tunelab.models.tokenizer import load_tokenizer, token_counter
from tunelab.serve import datasets_protocol as p
from tunelab.serve.control_service import UPLOAD_SUFFIXES
from tunelab.settings import Settings
from tunelab.store import Store

FORMAT_KINDS = {"alpaca": "chat", "messages": "chat", "sharegpt": "chat", "preference": "preference",
                "classification": "classification", "text": "text"}
CACHED = 32  # datasets whose lengths are kept


class DatasetViews:
    def __init__(self, store: Store, settings: Settings, base: LoadedModel) -> None:
        self.store, self.settings, self.base = store, settings, base
        self.registry = DatasetRegistry(store, settings)
        self._lock = threading.Lock()
        self._tokenizers: dict[str, Callable[[str], list[int]]] = {}
        self._lengths: OrderedDict[tuple[str, str, str], list[int]] = OrderedDict()

    def formats(self) -> p.DatasetFormats:
        return p.DatasetFormats(data=[p.DatasetFormat(name=f, kind=FORMAT_KINDS.get(f, "")) for f in FORMATS],
                                suffixes=list(UPLOAD_SUFFIXES))

    def records(self, name: str, offset: int = 0, limit: int = 20) -> p.DatasetRecords:
        """Records offset..offset+limit of the copy (one JSON row per line, in the file's order)."""
        info = self.registry.get(name)  # UnknownDatasetError listing the known ones
        rows: list[dict] = []
        try:
            with Path(info.path).open(encoding="utf-8") as f:
                for i, line in enumerate(f):
                    if i >= offset + limit:
                        break
                    if i >= offset and line.strip():
                        rows.append(json.loads(line))
        except FileNotFoundError:
            raise DatasetRegistryError(f"The copy of dataset '{name}' ({info.path}) is missing; remove the entry "
                                       f"(tunelab data rm {name}) and add the file again.") from None
        return p.DatasetRecords(dataset=name, data=rows, offset=offset, limit=limit, total=info.num_records)

    def stats(self, name: str, *, bins: int = 20, model: str | None = None,
              max_seq_len: int | None = None) -> p.DatasetStatistics:
        info = self.registry.get(name)
        tokenizer_name = model or self.base.name
        key = (name, info.content_hash, tokenizer_name)
        with self._lock:
            lengths = self._lengths.get(key)
        if lengths is None:
            records = self.registry.load(name)  # checks the copy against its hash
            tokenize = self._tokenizer(tokenizer_name)
            lengths = [record_length(r, tokenize) for r in records]
            with self._lock:
                self._lengths[key] = lengths
                while len(self._lengths) > CACHED:
                    self._lengths.popitem(last=False)
        stored = info.stats  # counts by kind and label, from when it was added (the same records)
        edges, counts = length_histogram(lengths, bins)
        summary = p.LengthSummary(**asdict(length_stats(lengths))) if lengths else None
        return p.DatasetStatistics(
            dataset=name, content_hash=info.content_hash, count=len(lengths),
            kinds=dict(stored.get("kinds") or {}), labels=dict(stored.get("labels") or {}),
            source_format=stored.get("source_format"), skipped=int(stored.get("skipped") or 0),
            tokenizer=tokenizer_name, lengths=summary,
            histogram=p.LengthHistogram(edges=edges, counts=counts), max_seq_len=max_seq_len,
            over_max_seq_len=sum(x > max_seq_len for x in lengths) if max_seq_len else None)

    def _tokenizer(self, name: str) -> Callable[[str], list[int]]:
        with self._lock:
            if name not in self._tokenizers:
                # Our own copy: the engine's tokenizer may be busy in another thread, and a fast
                # tokenizer shared across threads can refuse ("Already borrowed").
                tok = copy.deepcopy(self.base.tokenizer) if name == self.base.name else \
                    load_tokenizer(name, self.settings, store=self.store)
                self._tokenizers[name] = token_counter(tok)
            return self._tokenizers[name]

