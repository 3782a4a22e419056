"""GGUF -> safetensors folder, once.

The converted folder is built under a temporary name and renamed into place only when complete,
so a half-written folder never counts as done; a file lock makes two processes that start the
conversion at once do it once. A `tunelab-source.json` inside records which file it came from:
a changed GGUF (size or mtime) is converted again.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from filelock import FileLock
from rich.console import Console

from tunelab.models.errors import ModelSourceError
from tunelab.models.progress import gguf_tensors_into, hf_bars_off
from tunelab.progress import OutputConsole, Progress

MARKER = "tunelab-source.json"


def fingerprint(gguf: Path) -> dict:
    st = gguf.stat()
    return {"gguf": str(gguf), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def is_converted(folder: Path, gguf: Path) -> bool:
    marker = folder / MARKER
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text()) == fingerprint(gguf)
    except (OSError, ValueError):
        return False


def check_gguf(gguf: Path) -> None:
    """Fail early, naming the file, when a GGUF is missing or not a GGUF."""
    if not gguf.is_file():
        raise ModelSourceError(f"GGUF file {gguf} does not exist.")
    with open(gguf, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise ModelSourceError(f"{gguf} is not a GGUF file (it starts with {magic!r}, not b'GGUF').")


def ensure_converted(gguf: Path, folder: Path, *, console: Console | None = None,
                     progress_interval_s: float | None = None) -> Path:
    """Return `folder`, converting `gguf` into it first if needed (progress on `console`, stderr by
    default; plain lines every `progress_interval_s` when that is not a terminal)."""
    gguf = gguf.resolve()
    if is_converted(folder, gguf):
        return folder
    check_gguf(gguf)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if is_converted(folder, gguf):  # another process finished while we waited
            return folder
        for stale in folder.parent.glob(f".{folder.name}.*.partial"):  # left by a killed conversion
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
        tmp.chmod(0o755)
        try:
            _convert(gguf, tmp, console or OutputConsole(stderr=True), progress_interval_s)
            (tmp / MARKER).write_text(json.dumps(fingerprint(gguf)))
            if folder.exists():  # stale conversion of an older file: move it aside, then swap
                old = folder.with_name(f".{folder.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(folder, old)
                os.replace(tmp, folder)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _convert(gguf: Path, out: Path, console: Console, interval_s: float | None) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer  # lazy: transformers is slow to import

    # One display whose label says the stage: reading the tokenizer, dequantizing (counted by
    # tensor), writing the safetensors, the tokenizer files, done.
    with hf_bars_off(), Progress(console, f"Converting {gguf.name}: reading", rate_unit="tensors",
                                 interval_s=interval_s) as progress:
        try:
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            progress.update(label=f"Converting {gguf.name}: dequantizing tensors")
            with gguf_tensors_into(progress):
                model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
        except Exception as exc:
            raise ModelSourceError(f"Could not read GGUF file {gguf}: {exc}") from exc
        progress.update(label=f"Converting {gguf.name}: writing safetensors")
        # The weights are dequantized now; drop the GGUF quantizer so save_pretrained writes a
        # plain float model that loads without gguf_file=.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(out, safe_serialization=True)
        progress.update(label=f"Converting {gguf.name}: tokenizer files")
        tokenizer.save_pretrained(out)
        progress.update(label=f"Converted {gguf.name} to {out.parent}")
