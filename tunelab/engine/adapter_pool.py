"""Several PEFT adapters on one base model, keyed by registry name, with an LRU cap.

`AdapterPool.use(name)` makes `name` the active adapter (loading it first, evicting the least
recently used one when the cap is reached) and yields the model to call; `use(None)` yields the
plain base model (PEFT's `disable_adapter()`). Not thread-safe: an engine calls it from the one
thread that runs the model.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from tunelab.models.errors import ModelSourceError
from tunelab.models.loader import LoadedModel
from tunelab.models.peft_loading import attach_adapters, check_adapter_folder

AdapterResolver = Callable[[str], "str | Path"]  # registry name -> PEFT folder; raises UnknownAdapterError


def peft_key(name: str) -> str:
    """A PEFT adapter key for a registry name (PEFT keys are module names: no '.')."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return safe if safe == name else f"{safe}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"


class AdapterPool:
    def __init__(self, loaded: LoadedModel, resolver: AdapterResolver, max_loaded: int = 8) -> None:
        if max_loaded < 1:
            raise ValueError("max_loaded must be at least 1")
        self.loaded, self.resolver, self.max_loaded = loaded, resolver, max_loaded
        self.peft: Any = None  # the peft.PeftModel once the first adapter is attached
        self._lru: OrderedDict[str, str] = OrderedDict()  # name -> PEFT key, least recently used first

    def names(self) -> list[str]:
        return list(self._lru)

    def load(self, name: str) -> str:
        """Make sure `name` is on the model (most recently used now); returns its PEFT key."""
        if name in self._lru:
            self._lru.move_to_end(name)
            return self._lru[name]
        path = self.resolver(name)
        while len(self._lru) >= self.max_loaded:
            self.unload(next(iter(self._lru)))
        key = peft_key(name)
        if self.peft is None:
            self.peft = attach_adapters(self.loaded, {key: path})
        else:
            check_adapter_folder(path)
            try:
                self.peft.load_adapter(str(path), adapter_name=key, is_trainable=False,
                                       torch_device=str(self.loaded.device))
            except (RuntimeError, ValueError, KeyError) as exc:
                raise ModelSourceError(f"Adapter '{name}' ({path}) does not fit model '{self.loaded.name}': "
                                       f"{type(exc).__name__}: {str(exc)[:300]}") from exc
            self.peft.eval()
        self._lru[name] = key
        return key

    def unload(self, name: str) -> None:
        """Take `name` off the model. The last one unwraps the PEFT model (PEFT cannot run with no
        adapter at all), leaving the plain base model as it was."""
        key = self._lru.pop(name)
        if not self._lru:
            self.peft.unload()  # removes the LoRA layers without merging them
            self.peft = None
        else:
            if key in self.peft.active_adapters:
                self.peft.set_adapter(next(iter(self._lru.values())))
            self.peft.delete_adapter(key)

    @contextmanager
    def use(self, name: str | None) -> Iterator[Any]:
        """The model to call with `name` active; None: the base model, adapters switched off."""
        if name is None:
            if self.peft is None:
                yield self.loaded.model
                return
            with self.peft.disable_adapter():
                yield self.peft
            return
        key = self.load(name)
        self.peft.set_adapter(key)
        yield self.peft
