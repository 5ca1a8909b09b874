"""The process group: created only when torchrun launched this process, gloo on CPU, NCCL on CUDA.

torchrun (`python -m torch.distributed.run`) starts one process per rank and gives each RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. `world_session(device)` reads them, picks the
backend by device (NCCL for CUDA tensors, gloo otherwise), pins a CUDA rank to GPU LOCAL_RANK, and
sets the timeout after which a collective that waits for a dead or stuck rank fails
($DCLAB_COLLECTIVE_TIMEOUT seconds, default 300). Without those variables it yields None and
creates nothing: the single-process path is untouched.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
TIMEOUT_ENV = "DCLAB_COLLECTIVE_TIMEOUT"
DEFAULT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class World:
    """This process's place in the job."""

    rank: int
    size: int
    local_rank: int
    backend: str  # "gloo" | "nccl"
    timeout_s: float

    @property
    def device(self) -> torch.device:
        """Where collective tensors live: this rank's GPU under NCCL, the CPU under gloo."""
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")

    def describe(self) -> str:
        return f"rank {self.rank} of {self.size} ({self.backend}, collective timeout {self.timeout_s:g} s)"


_WORLD: World | None = None


def launched_by_torchrun(env: Mapping[str, str] = os.environ) -> bool:
    return all(name in env for name in TORCHRUN_VARS)


def active_world() -> World | None:
    """The process group this process belongs to, or None (a single process)."""
    return _WORLD


def is_rank0() -> bool:
    """True in a single process and on rank 0: the process that owns the run folder and prints."""
    return _WORLD is None or _WORLD.rank == 0


def collective_timeout_s(env: Mapping[str, str] = os.environ) -> float:
    raw = env.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ValueError(f"{TIMEOUT_ENV} must be a positive number of seconds, got {raw!r}")
    return value


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def local_device(device: torch.device) -> torch.device:
    """Under NCCL a plain 'cuda' means this rank's GPU (LOCAL_RANK); anything else is unchanged."""
    if _WORLD is not None and device.type == "cuda" and device.index is None:
        return torch.device("cuda", _WORLD.local_rank)
    return device


def status_fields() -> dict[str, Any]:
    """What status.json records about the job (nothing in a single process)."""
    if _WORLD is None:
        return {}
    return {"world_size": _WORLD.size, "backend": _WORLD.backend}


@contextlib.contextmanager
def world_session(device_name: str | torch.device | None = "auto") -> Iterator[World | None]:
    """Join torchrun's process group for the block (None and nothing done when not under torchrun)."""
    global _WORLD
    if not launched_by_torchrun() or _WORLD is not None:
        yield _WORLD
        return
    from dclab.device import resolve_device

    timeout = collective_timeout_s()
    rank, size, local_rank = (int(os.environ[name]) for name in TORCHRUN_VARS)
    backend = backend_for(resolve_device(device_name))
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout))
    _WORLD = World(rank=rank, size=size, local_rank=local_rank, backend=backend, timeout_s=timeout)
    try:
        yield _WORLD
        # every rank past its last collective before any tears the group down: a rank destroying a
        # gloo group while another still uses it aborts ("terminate called without an active exception")
        dist.barrier()
    finally:
        _WORLD = None
        dist.destroy_process_group()
