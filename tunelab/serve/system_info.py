"""What the dashboard's home page shows of the machine: the device and precision the base model
runs on (and its quantization: none, or int8 weights), the CPU (and whether it has AMX, where bf16 is fast), threads, and memory (the machine's,
this process's, and the GPU's when there is one). Read from /proc where it exists (Linux)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

from tunelab.models.loader import LoadedModel


def _proc_value(path: str, key: str) -> int | None:
    """A 'Key:   123 kB' line of a /proc file, in bytes."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def cpu_name() -> str:
    """The CPU's model name (the benchmarks print it beside their figures)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def system_info(loaded: LoadedModel) -> dict:
    param = next(loaded.model.parameters(), None)
    info = {
        "device": str(loaded.device),
        "dtype": str(param.dtype).removeprefix("torch.") if param is not None else None,
        "quantization": loaded.quantization,
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "amx": bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()),
        "torch": torch.__version__,
        "memory_total": _proc_value("/proc/meminfo", "MemTotal"),
        "memory_available": _proc_value("/proc/meminfo", "MemAvailable"),
        "process_rss": _proc_value("/proc/self/status", "VmRSS"),
        "gpu": None,
    }
    if loaded.device.type == "cuda":
        free, total = torch.cuda.mem_get_info(loaded.device)
        info["gpu"] = {"name": torch.cuda.get_device_name(loaded.device), "memory_total": total,
                       "memory_used": total - free}
    return info
