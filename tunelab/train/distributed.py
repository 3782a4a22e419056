"""Data-parallel training on torch.distributed: which process this is, and the collectives the loop needs.

A run is distributed when the standard environment says so (WORLD_SIZE > 1, with RANK, LOCAL_RANK,
MASTER_ADDR and MASTER_PORT, as `torchrun`, `accelerate launch` or `tunelab train --nproc N` set
them). The process group uses NCCL on CUDA (each process on GPU LOCAL_RANK) and gloo on the CPU.
Rank 0 alone writes the store, checkpoints and the adapter; every rank computes the same plan of
steps, so the others only need the collectives below.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


SINGLE = World()


def env_world() -> World:
    """The world the environment describes (one process when WORLD_SIZE is unset or 1)."""
    size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if size <= 1:
        return SINGLE
    return World(int(os.environ.get("RANK", "0")), size, int(os.environ.get("LOCAL_RANK", "0")))


def setup(device_setting: str = "auto") -> World:
    """Join the process group the environment describes (once); a single process returns SINGLE."""
    world = env_world()
    if not world.enabled:
        return world
    cuda = device_setting != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(world.local_rank)  # "cuda" now means this process's own GPU
    if not dist.is_initialized():
        timeout = timedelta(seconds=float(os.environ.get("TUNELAB_DIST_TIMEOUT_S", "1800")))
        dist.init_process_group("nccl" if cuda else "gloo", timeout=timeout)
    return world


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def current() -> World:
    """This process's world once `setup` joined a group, else one process."""
    if not dist.is_initialized():
        return SINGLE
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def _device() -> torch.device:
    return torch.device("cuda") if dist.get_backend() == "nccl" else torch.device("cpu")


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def broadcast(obj):
    """Rank 0's `obj` on every rank (any picklable object)."""
    if not dist.is_initialized():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def broadcast_bytes(obj):
    """Like `broadcast`, for large payloads (a checkpoint): one tensor of pickled bytes."""
    if not dist.is_initialized():
        return obj
    data = pickle.dumps(obj) if dist.get_rank() == 0 else b""
    size = torch.tensor([len(data)], dtype=torch.long, device=_device())
    dist.broadcast(size, 0)
    buf = (torch.frombuffer(bytearray(data), dtype=torch.uint8) if data else
           torch.empty(int(size), dtype=torch.uint8))
    buf = buf.to(_device())
    dist.broadcast(buf, 0)
    return obj if dist.get_rank() == 0 else pickle.loads(buf.cpu().numpy().tobytes())


def sum_floats(*values: float) -> list[float]:
    """The sums over all ranks of a few numbers (one all-reduce, in float64)."""
    if not dist.is_initialized():
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=_device())
    dist.all_reduce(t)
    return t.tolist()


def any_rank(flag: bool) -> bool:
    """True on every rank when it is true on one (e.g. a stop request)."""
    return sum_floats(float(flag))[0] > 0


def join_run(cfg, settings, store, run_id: str | None) -> str:
    """The run id rank 0 chose, on every rank; the base model made ready (converted from a GGUF
    on first use) by one process per machine while the others wait."""
    from tunelab.models.catalogue import Catalogue  # lazy: only distributed runs prepare the model here
    from tunelab.models.loader import local_path  # lazy: only distributed runs prepare the model here
    from tunelab.train.runs import new_run_id  # lazy: runs imports the store layer

    run_id = broadcast(run_id or new_run_id(cfg.recipe))
    if current().local_rank == 0:
        try:
            local_path(Catalogue(store).get(cfg.base_model), settings)
        except Exception:  # the recipe reports an unknown or broken model itself, on every rank
            pass
    barrier()
    return run_id
