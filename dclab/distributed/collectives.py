"""The collectives dclab uses, each a no-op in a single process.

Every call goes through `_collective`, which (1) counts the bytes of the tensor this rank hands to
the collective (`comm_totals()`: the communication volume per iteration is measured, not guessed)
and (2) turns a failure into `RankLostError`, one line naming the collective: a rank that died
closes its connections (gloo/NCCL fail at once) and one that hangs runs into the process group's
timeout (`world.py`), so the others fail instead of waiting forever.

Objects (a checkpoint, a run's config, accuracies) travel as `torch.save` bytes and are read back
with `torch.load(weights_only=True)`: as with files, nothing received is executed (no pickle).
"""
from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor

from dclab.distributed.world import World, active_world

T = TypeVar("T")


class RankLostError(RuntimeError):
    """A collective failed: another rank died, was killed, or stopped responding."""


@dataclass(frozen=True)
class CommTotals:
    """Bytes handed to collectives by this process, and the number of calls, since it started."""

    bytes: int = 0
    calls: int = 0

    def __sub__(self, other: CommTotals) -> CommTotals:
        return CommTotals(self.bytes - other.bytes, self.calls - other.calls)


_totals = CommTotals()
_totals_lock = threading.Lock()


def comm_totals() -> CommTotals:
    return _totals


def _collective(world: World, what: str, tensor: Tensor, call: Callable[[], Any]) -> None:
    """Run one collective on `tensor` (counted), translating any failure into RankLostError."""
    global _totals
    nbytes = tensor.numel() * tensor.element_size()
    with _totals_lock:
        _totals = CommTotals(_totals.bytes + nbytes, _totals.calls + 1)
    try:
        call()
    except Exception as e:  # noqa: BLE001 - gloo/NCCL raise several types (DistError, RuntimeError, ...)
        detail = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise RankLostError(
            f"rank {world.rank} of {world.size}: {what} ({nbytes} bytes) failed: another rank died or "
            f"stopped responding (collective timeout {world.timeout_s:g} s): {detail}") from None


def all_reduce_sum(tensor: Tensor) -> Tensor:
    """tensor := its sum over all ranks, in place (returned); unchanged in a single process."""
    world = active_world()
    if world is not None:
        _collective(world, f"all_reduce of {tuple(tensor.shape)}", tensor, lambda: dist.all_reduce(tensor))
    return tensor


class _AllReduceSum(torch.autograd.Function):
    """y = Σ_ranks x on every rank; its adjoint is the same sum: ∂L/∂x_r = Σ_ranks ∂L/∂y."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:  # noqa: ARG004 - autograd's signature
        return all_reduce_sum(x.detach().clone())

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # noqa: ARG004
        return all_reduce_sum(grad.contiguous().clone())


def all_reduce_sum_differentiable(tensor: Tensor) -> Tensor:
    """The sum over ranks as a new tensor that autograd goes through (its backward is the sum of
    the ranks' gradients: a second counted collective); `tensor` itself in a single process.

    For a loss every rank computes alike from the sum (replicated), each rank backpropagates its
    1/N share, so the summed adjoint is the one of a single process."""
    return tensor if active_world() is None else _AllReduceSum.apply(tensor)


def broadcast_tensor(tensor: Tensor, src: int) -> Tensor:
    """tensor := rank `src`'s tensor, in place on every rank (same shape and dtype everywhere)."""
    world = active_world()
    if world is not None:
        _collective(world, f"broadcast of {tuple(tensor.shape)} from rank {src}", tensor,
                    lambda: dist.broadcast(tensor, src=src))
    return tensor


def agree_any(flag: bool) -> bool:
    """True on every rank if `flag` is true on any (e.g. a stop asked of one rank stops all together)."""
    world = active_world()
    if world is None:
        return flag
    t = torch.tensor([int(flag)], dtype=torch.int32, device=world.device)
    _collective(world, "stop agreement", t, lambda: dist.all_reduce(t, op=dist.ReduceOp.MAX))
    return bool(t.item())


def _to_bytes(obj: Any) -> Tensor:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return torch.frombuffer(bytearray(buf.getvalue()), dtype=torch.uint8)


def _from_bytes(data: Tensor) -> Any:
    return torch.load(io.BytesIO(data.cpu().numpy().tobytes()), weights_only=True, map_location="cpu")


def share_from_rank0(obj: T) -> T:
    """Rank 0's `obj` on every rank (the others' argument is ignored); `obj` itself in a single process.

    obj: tensors, numbers, strings, None, lists/tuples/dicts of them (what weights_only reads)."""
    world = active_world()
    if world is None:
        return obj
    payload = _to_bytes(obj).to(world.device) if world.rank == 0 else None
    size = torch.tensor([0 if payload is None else payload.numel()], dtype=torch.int64, device=world.device)
    _collective(world, "broadcast of a size", size, lambda: dist.broadcast(size, src=0))
    if payload is None:
        payload = torch.empty(int(size.item()), dtype=torch.uint8, device=world.device)
    _collective(world, "broadcast from rank 0", payload, lambda: dist.broadcast(payload, src=0))
    return obj if world.rank == 0 else _from_bytes(payload)


def gather_objects(obj: Any) -> list[Any]:
    """[obj of rank 0, obj of rank 1, ...] on every rank; [obj] in a single process."""
    world = active_world()
    if world is None:
        return [obj]
    mine = _to_bytes(obj).to(world.device)
    size = torch.tensor([mine.numel()], dtype=torch.int64, device=world.device)
    sizes = [torch.zeros_like(size) for _ in range(world.size)]
    _collective(world, "all_gather of sizes", size, lambda: dist.all_gather(sizes, size))
    longest = max(int(s.item()) for s in sizes)
    padded = torch.zeros(longest, dtype=torch.uint8, device=world.device)
    padded[: mine.numel()] = mine
    parts = [torch.empty_like(padded) for _ in range(world.size)]
    _collective(world, "all_gather of objects", padded, lambda: dist.all_gather(parts, padded))
    return [_from_bytes(p[: int(s.item())]) for p, s in zip(parts, sizes)]
