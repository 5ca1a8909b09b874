"""The one typed object every loader returns."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor


def denormalize(x: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """x * std + mean per channel, clipped to [0, 1]: normalised (C, H, W) or (N, C, H, W) -> pixels.

    The one inverse of the data sets' normalisation (bundles, synthetic sets, grids, exports).
    """
    m = torch.tensor(list(mean), dtype=x.dtype, device=x.device).view(-1, 1, 1)
    s = torch.tensor(list(std), dtype=x.dtype, device=x.device).view(-1, 1, 1)
    return (x * s + m).clamp(0.0, 1.0)


@dataclass(frozen=True)
class DatasetBundle:
    """A labelled image data set, normalised, in memory.

    x_*: (N, C, H, W) float32, already normalised with `mean`/`std` (per channel).
    y_*: (N,) int64 class index in [0, num_classes).
    """

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    source: str = ""  # where it was read from, for display
    indices_per_class: tuple[Tensor, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        idx = tuple(
            torch.nonzero(self.y_train == c, as_tuple=False).flatten()
            for c in range(len(self.class_names))
        )
        object.__setattr__(self, "indices_per_class", idx)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        return (int(self.x_train.shape[2]), int(self.x_train.shape[3]))

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return (self.channels, *self.image_size)

    def min_class_count(self) -> int:
        return min(int(i.numel()) for i in self.indices_per_class)

    def check_ipc(self, ipc: object) -> int:
        """`ipc` if it is a whole number in 1..min_class_count(); else a one-line ConfigError.
        The one IPC range check of runs, methods and coresets."""
        from dclab.config import ConfigError

        top = self.min_class_count()
        if isinstance(ipc, bool) or not isinstance(ipc, int) or not 1 <= ipc <= top:
            raise ConfigError(f"IPC must be in 1..{top} for {self.name} (its smallest class), got {ipc!r}")
        return ipc

    def sample_class(self, c: int, n: int, generator: torch.Generator) -> Tensor:
        """n random training images of class c (without replacement when possible). (n, C, H, W)"""
        pool = self.indices_per_class[c]
        if n >= pool.numel():
            order = torch.randperm(pool.numel(), generator=generator)
        else:
            order = torch.randperm(pool.numel(), generator=generator)[:n]
        return self.x_train[pool[order]]

    def sample_per_class(self, n: int, generator: torch.Generator) -> Tensor:
        """n random training images of every class, stacked class-major. (num_classes, n, C, H, W)

        Requires every class to have at least n images; callers cap n (e.g. real batch 256)
        with `min(n, min_class_count())`.
        """
        return torch.stack(
            [self.sample_class(c, n, generator) for c in range(self.num_classes)]
        )

    def denormalize(self, x: Tensor) -> Tensor:
        """Back to pixel space [0, 1] (clipped), for display and export."""
        return denormalize(x, self.mean, self.std)

    def to(self, device: torch.device | str) -> DatasetBundle:
        """A copy whose tensors live on `device` (the train set is small enough for GPU memory)."""
        return DatasetBundle(
            name=self.name,
            x_train=self.x_train.to(device),
            y_train=self.y_train.to(device),
            x_test=self.x_test.to(device),
            y_test=self.y_test.to(device),
            class_names=self.class_names,
            mean=self.mean,
            std=self.std,
            source=self.source,
        )


def normalise(x: Tensor) -> tuple[Tensor, tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean/std of x in [0,1] (N,C,H,W); returns the normalised x and the stats."""
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3)).clamp_min(1e-6)
    xn = (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
    return xn, tuple(float(m) for m in mean), tuple(float(s) for s in std)
