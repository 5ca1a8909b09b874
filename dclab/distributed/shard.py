"""Who computes what: a block of classes or of batch rows per rank (condensation), every N-th
network (evaluation).

A method declares how its work splits (`CondensationMethod.rank_split`): by `"classes"` (DM, DC,
DSA, MDC on those: independent per-class losses), by `"batch"` (DD, KIP, MTT: one loss that is a
mean over a batch), or not at all (`None`: refused under torchrun).

Either way every rank draws the same random numbers in the same order (the same real batches, DSA
draws and networks, from the same generator), so all ranks hold the same images at every step:
- class sharding: a rank computes the losses of its own classes only, and the image gradient is
  summed over ranks (`ClassShard.reduce_grad`). A class's gradient comes from its own rank alone
  (the others add exact zeros), so the step is bit for bit the one of one process;
- batch sharding: a rank computes its block of rows of the batch, as a sum divided by the WHOLE
  batch's size (`BatchShard.rows`), so the ranks' losses and gradients add up to the mean over the
  batch (`BatchShard.reduce_grads`): the step of one process up to float rounding (the sum is
  formed in another order).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from dclab.config import ConfigError
from dclab.distributed.collectives import all_reduce_sum, gather_objects
from dclab.distributed.world import active_world


@dataclass(frozen=True)
class ClassShard:
    """Classes [start, stop) of `num_classes` are this rank's; `split` is False in a single process."""

    num_classes: int
    start: int
    stop: int
    split: bool = False

    def own(self, *class_major: Tensor) -> tuple[Tensor, ...]:
        """This rank's rows of (classes, ...) tensors (the tensors themselves in a single process)."""
        return class_major if not self.split else tuple(x[self.start:self.stop] for x in class_major)

    def reduce_grad(self, images: Tensor) -> None:
        """images.grad := the sum over ranks (every class's gradient, from the rank that owns it)."""
        if self.split and images.grad is not None:
            all_reduce_sum(images.grad)

    def all_classes(self, own_values: Tensor) -> Tensor:
        """(classes,) values from each rank's (own classes,) values (detached when split)."""
        if not self.split:
            return own_values
        full = torch.zeros(self.num_classes, dtype=own_values.dtype, device=own_values.device)
        full[self.start:self.stop] = own_values.detach()
        return all_reduce_sum(full)


@dataclass(frozen=True)
class BatchShard:
    """Rank `rank` of `ranks` computes a contiguous block of the rows of each batch; `split` is False
    in a single process (every row)."""

    rank: int = 0
    ranks: int = 1

    @property
    def split(self) -> bool:
        return self.ranks > 1

    def rows(self, n: int) -> slice:
        """This rank's rows of a batch of n (rows r·n/N .. (r+1)·n/N; all n in one process)."""
        return slice(self.rank * n // self.ranks, (self.rank + 1) * n // self.ranks)

    def reduce_grads(self, *params: Tensor) -> None:
        """p.grad := its sum over ranks for every p, in one collective (a no-op in one process)."""
        if not self.split:
            return
        grads = [p.grad for p in params if p.grad is not None]
        flat = all_reduce_sum(torch.cat([g.reshape(-1) for g in grads]))  # (Σ numel,)
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def total(self, value: Tensor) -> Tensor:
        """A detached copy of a rank's share of a loss, summed over ranks (the whole batch's value)."""
        out = value.detach().clone()
        return all_reduce_sum(out) if self.split else out


SPLITS = ("classes", "batch")  # how a method's work divides over ranks (None: it does not)


def _refusal(method: str) -> ConfigError:
    return ConfigError(f"{method} does not run on several ranks (torchrun) with these settings; classes "
                       f"are split by dm, dc, dsa and mdc on those bases (not with BatchNorm in dm), the "
                       f"batch by dd, kip and mtt; launch it as one process")


def rank_shards(num_classes: int, method: str, split: str | None) -> tuple[ClassShard, BatchShard]:
    """(classes, batch rows) this rank computes for a method that splits by `split` (one of SPLITS,
    or None): the split one is this rank's block, the other whole. ConfigError (one line) on several
    ranks when the method does not split, or splits classes and there are more ranks than classes."""
    if split not in (*SPLITS, None):
        raise ValueError(f"unknown split {split!r}; one of {SPLITS} or None")
    classes = (class_shard(num_classes, method, split == "classes") if split != "batch"
               else ClassShard(num_classes, 0, num_classes))
    rows = batch_shard() if split == "batch" else BatchShard()
    return classes, rows


def batch_shard() -> BatchShard:
    """This rank's block of batch rows (all rows in a single process)."""
    world = active_world()
    return BatchShard() if world is None or world.size == 1 else BatchShard(world.rank, world.size)


def class_shard(num_classes: int, method: str = "this method", supported: bool = True) -> ClassShard:
    """This rank's block of classes (all of them in a single process).

    ConfigError when launched on several ranks and the method cannot split its classes, or when
    there are more ranks than classes (a rank would have nothing to do)."""
    world = active_world()
    if world is None or world.size == 1:
        return ClassShard(num_classes, 0, num_classes)
    if not supported:
        raise _refusal(method)
    if world.size > num_classes:
        raise ConfigError(f"{world.size} ranks but only {num_classes} classes: use at most {num_classes} ranks")
    start, stop = world.rank * num_classes // world.size, (world.rank + 1) * num_classes // world.size
    return ClassShard(num_classes, start, stop, split=True)


def my_share(count: int) -> list[int]:
    """Indices of `count` items (e.g. evaluation networks) this rank computes: every N-th one."""
    world = active_world()
    if world is None:
        return list(range(count))
    return list(range(world.rank, count, world.size))


def gather_by_index(indices: Sequence[int], values: Sequence[Any]) -> list[Any]:
    """Every rank's (index, value) pairs, merged in index order (the values as one process lists them)."""
    if active_world() is None:
        return list(values)
    pairs = [p for part in gather_objects(list(zip(indices, values))) for p in part]
    return [v for _, v in sorted(pairs, key=lambda p: p[0])]
