"""The adapter registry: register, get, list, remove, and the errors a user sees; lineage helpers."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from pg_support import settings_on_each_backend, store_on_each_backend  # noqa: F401 - fixtures: SQLite, then PostgreSQL

from tunelab.adapters import AdapterError, UnknownAdapterError, library_versions, model_fingerprint


def test_register_get_list(two_adapters, lora_dirs, tiny_model_dir):
    a = two_adapters.get("a")
    assert (a.name, a.kind, a.base_model, a.path) == ("a", "lora", "tiny", str(lora_dirs["a"].resolve()))
    assert a.base_model_hash == model_fingerprint(tiny_model_dir) and len(a.base_model_hash) == 64
    assert a.lineage == {"seed": 1} and a.metrics == {"eval_loss": 1.5} and a.parents == []
    assert a.created_at is not None and a.run_id is None
    assert [x.name for x in two_adapters.list()] == ["a", "b"]


def test_duplicate_and_bad_names_refused(two_adapters, lora_dirs):
    with pytest.raises(AdapterError, match="An adapter named 'a' already exists.*tunelab adapters rm a"):
        two_adapters.register("a", kind="lora", path=lora_dirs["b"], base_model="tiny")
    with pytest.raises(AdapterError, match="must be 1-128 letters"):
        two_adapters.register("bad name/x", kind="lora", path=lora_dirs["b"], base_model="tiny")
    assert [x.name for x in two_adapters.list()] == ["a", "b"]


def test_unknown_adapter_lists_known(two_adapters):
    with pytest.raises(UnknownAdapterError) as err:
        two_adapters.get("nope")
    assert str(err.value) == "Unknown adapter 'nope'. Known adapters: a, b."
    assert isinstance(err.value, KeyError) and isinstance(err.value, ValueError)
    with pytest.raises(UnknownAdapterError, match="Known adapters: a, b"):
        two_adapters.remove("nope")


def test_register_checks_folder_kind_run_and_json(registry, tmp_path, lora_dirs):
    with pytest.raises(AdapterError, match="does not exist"):
        registry.register("x", kind="lora", path=tmp_path / "missing", base_model="tiny")
    with pytest.raises(AdapterError, match="no adapter_config.json"):
        registry.register("x", kind="lora", path=tmp_path, base_model="tiny")
    with pytest.raises(AdapterError, match="kind 'qlora' is not one of: lora, full, classifier, merged"):
        registry.register("x", kind="qlora", path=lora_dirs["a"], base_model="tiny")
    with pytest.raises(AdapterError, match="No training run 'r-1'"):
        registry.register("x", kind="lora", path=lora_dirs["a"], base_model="tiny", run_id="r-1")
    with pytest.raises(AdapterError, match="lineage must be JSON"):
        registry.register("x", kind="lora", path=lora_dirs["a"], base_model="tiny", lineage={"p": tmp_path})
    assert registry.list() == []


def test_register_links_an_existing_run(registry, store, lora_dirs):
    from tunelab.store import Run

    with store.session() as s:
        s.add(Run(id="r-1", recipe="sft", status="completed", base_model="tiny", config={}, output_dir="/x"))
    info = registry.register("x", kind="lora", path=lora_dirs["a"], base_model="tiny", run_id="r-1", wall_time_s=2.5)
    assert (info.run_id, info.wall_time_s) == ("r-1", 2.5)


def test_remove_deletes_files_only_under_home(registry, settings, lora_dirs):
    inside = registry.path_for("mine")
    assert inside == settings.home / "adapters" / "mine" and registry.adapters_dir() == settings.home / "adapters"
    shutil.copytree(lora_dirs["a"], inside)
    registry.register("mine", kind="lora", path=inside, base_model="tiny")
    registry.register("theirs", kind="lora", path=lora_dirs["b"], base_model="tiny")
    assert registry.remove("mine").name == "mine"
    assert not inside.exists()
    registry.remove("theirs")
    assert (lora_dirs["b"] / "adapter_config.json").is_file()  # outside the home: left alone
    assert registry.list() == []


def test_fingerprint_hashes_weights_and_caches(tmp_path, tiny_model_dir):
    folder = shutil.copytree(tiny_model_dir, tmp_path / "m")
    first = model_fingerprint(folder)
    assert first == model_fingerprint(tiny_model_dir)  # content, not location
    cache = tmp_path / ".m.fingerprint.json"
    assert json.loads(cache.read_text())["sha256"] == first
    # A cache entry whose sizes and mtimes match is trusted without reading the weights...
    cache.write_text(cache.read_text().replace(first, "f" * 64))
    assert model_fingerprint(folder) == "f" * 64
    # ...and recomputed once a weight file changes.
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(1, 1))
    changed = model_fingerprint(folder)
    assert changed not in (first, "f" * 64)
    assert model_fingerprint(folder, use_cache=False) == changed
    with pytest.raises(ValueError, match="no weight files"):
        model_fingerprint(tmp_path)


def test_library_versions():
    import peft
    import torch
    import transformers

    v = library_versions()
    assert (v["torch"], v["transformers"], v["peft"]) == (torch.__version__, transformers.__version__, peft.__version__)
    assert v["tunelab"] and v["python"]

