"""Who computes what: a block of classes per rank (condensation), every N-th network (evaluation).

Class sharding keeps the maths of one process: every rank draws the same random numbers in the
same order (the same real batches, DSA draws and networks for ALL classes, from the same
generator), computes the losses of its own classes only, and the image gradient is summed over
ranks (`reduce_grad`). A class's gradient comes from its own rank alone (the others add exact
zeros), so every rank takes the same optimiser step on the same images as one process would.
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


def class_shard(num_classes: int, method: str = "this method", supported: bool = True) -> ClassShard:
    """This rank's block of classes (all of them in a single process).

    ConfigError when launched on several ranks and the method cannot split its classes, or when
    there are more ranks than classes (a rank would have nothing to do)."""
    world = active_world()
    if world is None or world.size == 1:
        return ClassShard(num_classes, 0, num_classes)
    if not supported:
        raise ConfigError(f"{method} does not run on several ranks (torchrun); classes are split only "
                          f"by dm, dc, dsa and mdc on those bases; launch it as one process")
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
