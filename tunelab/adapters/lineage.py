"""Building blocks of an adapter's lineage: the library versions it was made with, and a
fingerprint of the base model's weights (sha256 over the weight files' sorted names and bytes).

Hashing a multi-GB model takes seconds, so the fingerprint is cached in a small JSON file next to
the model folder, valid while every weight file keeps its size and mtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from importlib import metadata
from pathlib import Path

LIBRARIES = ("torch", "transformers", "peft", "tunelab")
CHUNK = 1 << 20


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries that decide what an adapter computes, and Python's."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    return versions


def weight_files(folder: Path) -> list[Path]:
    """The weight files of a HF model folder: *.safetensors and pytorch_model*.bin, sorted by name."""
    return sorted(
        (p for p in folder.iterdir()
         if p.is_file() and (p.suffix == ".safetensors" or (p.suffix == ".bin" and p.name.startswith("pytorch_model")))),
        key=lambda p: p.name,
    )


def _cache_file(folder: Path) -> Path:
    return folder.parent / f".{folder.name}.fingerprint.json"


def model_fingerprint(folder: str | Path, *, cache: Path | None = None, use_cache: bool = True) -> str:
    """sha256 hex of a model folder's weights: for each weight file in name order, its name, a NUL,
    its size (8 bytes, big-endian) and its bytes. `cache` (default: `.NAME.fingerprint.json` next
    to the folder) keeps the result while the files' sizes and mtimes stay the same; a cache that
    cannot be written is skipped, and `use_cache=False` neither reads nor writes one."""
    folder = Path(folder)
    files = weight_files(folder) if folder.is_dir() else []
    if not files:
        raise ValueError(f"{folder} has no weight files (*.safetensors or pytorch_model*.bin) to fingerprint.")
    # Resolve symlinks (the HF cache links into blobs/) so stat() describes the bytes hashed.
    key = {p.name: [os.stat(p).st_size, os.stat(p).st_mtime_ns] for p in files}
    cache = cache or _cache_file(folder)
    try:
        if not use_cache:
            raise OSError("no cache")
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("files") == key and isinstance(cached.get("sha256"), str):
            return cached["sha256"]
    except (OSError, ValueError):
        pass
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode("utf-8") + b"\0" + key[p.name][0].to_bytes(8, "big"))
        with open(p, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
    digest = h.hexdigest()
    if not use_cache:
        return digest
    try:
        tmp = cache.with_name(cache.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"files": key, "sha256": digest}), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only model folder: no cache, same answer
    return digest


def base_model_hash(path: str, *, cache_dir: Path | None = None) -> str | None:
    """The fingerprint of the model a `LoadedModel.path` names: a local folder, or a hub id found in
    the local HF cache (its cache entry is then kept in `cache_dir`, not inside the HF cache).
    None when the weights cannot be found locally."""
    folder = Path(path)
    if folder.is_dir():
        return model_fingerprint(folder)
    try:
        from huggingface_hub import snapshot_download  # lazy: huggingface_hub is slow to import

        snapshot = Path(snapshot_download(path, local_files_only=True))
    except Exception:  # not a hub id, or not in the cache: nothing local to hash
        return None
    cache = None
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache = cache_dir / (path.replace("/", "--") + ".fingerprint.json")
    try:
        return model_fingerprint(snapshot, cache=cache, use_cache=cache is not None)
    except ValueError:
        return None
