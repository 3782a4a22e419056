"""The registries that need nothing beyond `NamedRows`: models, datasets, adapters and upstreams,
one repository per table. Callers pass the Store and plain values and get detached rows back."""

from __future__ import annotations

from tunelab.store.repo import NamedRows
from tunelab.store.tables import AdapterEntry, DatasetEntry, ModelEntry, Upstream

MODELS: NamedRows[ModelEntry] = NamedRows(ModelEntry, "model")
DATASETS: NamedRows[DatasetEntry] = NamedRows(DatasetEntry, "dataset")
ADAPTERS: NamedRows[AdapterEntry] = NamedRows(AdapterEntry, "adapter")
UPSTREAMS: NamedRows[Upstream] = NamedRows(Upstream, "upstream")
