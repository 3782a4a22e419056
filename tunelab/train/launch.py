"""`tunelab train --nproc N`: the same command again under torchrun (`torch.distributed.run`), with N
local processes on one machine. Several machines: run torchrun (or `accelerate launch`) on each
yourself; the training code reads the standard environment either way (`train.distributed`)."""

from __future__ import annotations

import os
import socket
import sys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun_argv(nproc: int, tunelab_args: list[str], *, port: int | None = None) -> list[str]:
    """The command line that runs `python -m tunelab ARGS` in `nproc` processes on this machine;
    the rendezvous port is MASTER_PORT when set, else a free one."""
    port = port or int(os.environ.get("MASTER_PORT") or 0) or free_port()
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", str(nproc),
            "--master-addr", os.environ.get("MASTER_ADDR", "127.0.0.1"), "--master-port", str(port),
            "-m", "tunelab", *tunelab_args]


def relaunch(nproc: int, tunelab_args: list[str]) -> None:
    """Replace this process with torchrun running the command (its exit status becomes ours)."""
    argv = torchrun_argv(nproc, tunelab_args)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)
