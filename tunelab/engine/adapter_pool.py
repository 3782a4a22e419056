"""LoRA adapters on one base model, keyed by registry name, with an LRU cap; both engines use it.

`ensure(name, busy)` puts adapter `name` on the model (evicting the least recently used one that no
running request uses, at the cap); `forward(input_ids, adapters, ...)` runs one batch whose rows name
their adapters (PEFT's mixed-adapter batches; None is the plain base); `use(name)` yields the model
with one adapter active. A load that fails takes out the LoRA layers PEFT injected before it found the
weights do not fit. Not thread-safe: an engine calls it from the one thread that runs the model.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from tunelab.models.errors import ModelSourceError
from tunelab.models.loader import LoadedModel
from tunelab.models.peft_loading import adapter_config, check_adapter_folder, load_adapter
from tunelab.store.errors import UnknownAdapterError

AdapterResolver = Callable[[str], "str | Path"]  # registry name -> PEFT folder; raises UnknownAdapterError
BASE = "__base__"  # PEFT's name for "no adapter" in a mixed batch


class AdapterPool:
    def __init__(self, loaded: LoadedModel, adapter_paths: AdapterResolver, max_loaded: int = 8,
                 on_unload: Callable[[str], None] | None = None) -> None:
        if max_loaded < 1:
            raise ValueError("max_loaded_adapters must be at least 1.")
        self.loaded, self.adapter_paths, self.max_loaded = loaded, adapter_paths, max_loaded
        self.base = loaded.model
        self.peft: Any = None  # the peft.PeftModel once the first adapter is attached
        self._lru: OrderedDict[str, str] = OrderedDict()  # name -> PEFT key, least recently used first
        self._next_key = 0
        self._on_unload = on_unload  # called with the PEFT key of every adapter taken off

    def weights_key(self, name: str | None) -> str:
        """Names the weights a row runs under: "" for the base, else the adapter's PEFT key, which
        is new on every load (an adapter loaded again, maybe changed on disk, gets a new one)."""
        return "" if name is None else self._lru[name]

    def names(self) -> list[str]:
        return list(self._lru)

    def ensure(self, name: str, busy: set[str] | frozenset = frozenset()) -> bool:
        """Make `name` loaded (most recently used now). False when the cap is reached and every loaded
        adapter is in `busy` (used by running requests): try again once one finishes."""
        if name in self._lru:
            self._lru.move_to_end(name)
            return True
        if len(self._lru) >= self.max_loaded:
            idle = [n for n in self._lru if n not in busy]
            if not idle:
                return False
            self.unload(idle[0])
        self._load(name)
        return True

    def unload(self, name: str) -> None:
        """Take `name` off the model. The last one unwraps the PEFT model (PEFT cannot run with no
        adapter at all), leaving the plain base model as it was."""
        if name not in self._lru:
            raise UnknownAdapterError(name, self.names())
        key = self._lru.pop(name)
        if self._on_unload is not None:
            self._on_unload(key)
        if not self._lru:
            self.base = self.peft.unload()  # removes the LoRA layers without merging them
            self.peft = None
            return
        if key in self.peft.active_adapters:  # PEFT warns when the active one goes: pick another first
            self.peft.set_adapter(next(iter(self._lru.values())))
        self.peft.delete_adapter(key)

    def forward(self, input_ids: torch.Tensor, adapters: list[str | None], **kwargs):
        """One forward pass, row r with adapter `adapters[r]` (loaded already; None = the base)."""
        kwargs = {"use_cache": True, "logits_to_keep": 1, **kwargs, "input_ids": input_ids}
        if self.peft is None:
            return self.base(**kwargs)
        return self.peft(adapter_names=[self._lru[a] if a is not None else BASE for a in adapters], **kwargs)

    @contextmanager
    def use(self, name: str | None) -> Iterator[Any]:
        """The model to call with `name` active (loaded first); None: the base model."""
        if name is None:
            if self.peft is None:
                yield self.base
                return
            with self.peft.disable_adapter():
                yield self.peft
            return
        self.ensure(name)
        self.peft.set_adapter(self._lru[name])
        yield self.peft

    # -- loading ----------------------------------------------------------------------------------

    def _load(self, name: str) -> None:
        path = str(check_adapter_folder(self.adapter_paths(name)))
        cfg = adapter_config(path)
        if str(cfg.get("peft_type", "")).upper() != "LORA" or cfg.get("use_dora"):
            kind = f"{cfg.get('peft_type')}{' with DoRA' if cfg.get('use_dora') else ''}"
            raise ModelSourceError(f"Adapter '{name}' is {kind}: mixed-adapter batches serve plain LoRA adapters only.")
        key = f"a{self._next_key}"  # PEFT keys are module names: registry names may hold '.'
        self._next_key += 1
        # Normal tensors for the LoRA weights (an engine's model thread may run in inference mode): the
        # model stays usable by code outside the engine that needs autograd.
        with torch.inference_mode(False), torch.no_grad():
            self._attach(name, key, path)
        self._lru[name] = key

    def _attach(self, name: str, key: str, path: str) -> None:
        device = str(self.loaded.device)
        try:
            self.peft = load_adapter(self.peft, self.base, path, key, device)
        except (RuntimeError, ValueError, KeyError) as exc:
            self._clean_failed_load(key)
            raise ModelSourceError(f"Adapter '{name}' ({path}) does not fit model '{self.loaded.name}': "
                                   f"{type(exc).__name__}: {str(exc)[:500]}") from exc
        self.peft.eval()

    def _clean_failed_load(self, key: str) -> None:
        """PEFT injects LoRA layers before it loads their weights: take out what a failed load left."""
        try:
            if self.peft is not None:
                if key in self.peft.peft_config:
                    self.peft.delete_adapter(key)
                return
            from peft.tuners.tuners_utils import BaseTunerLayer  # lazy: as above

            for parent in list(self.base.modules()):
                for child_name, child in list(parent.named_children()):
                    if isinstance(child, BaseTunerLayer):
                        setattr(parent, child_name, child.get_base_layer())
        except Exception:  # cleaning up must not hide the load error
            pass
