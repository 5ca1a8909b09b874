"""`SyntheticSet`: the one type for a condensed or selected (coreset) training set."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor

from dclab.data.bundle import denormalize


@dataclass(frozen=True)
class SyntheticSet:
    """Images stored class-major: images[c * ipc + i] is image i of class c.

    images: (num_classes * ipc, C, H, W), normalised like the data set (`mean`/`std`).
    labels: (num_classes * ipc,) int64 class index; `soft_labels` optionally (N, num_classes)
            learned targets (KIP); `extras` holds method-specific learned tensors (e.g. DD's lrs).
    """

    images: Tensor
    labels: Tensor
    dataset: str
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    method: str
    config: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    soft_labels: Tensor | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.images.shape[0]
        if self.images.dim() != 4:
            raise ValueError(f"images must be (N, C, H, W), got shape {tuple(self.images.shape)}")
        if self.labels.shape != (n,):
            raise ValueError(f"labels must be ({n},), got {tuple(self.labels.shape)}")
        if n % max(self.num_classes, 1) != 0:
            raise ValueError(f"{n} images do not split evenly into {self.num_classes} classes")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def ipc(self) -> int:
        return self.images.shape[0] // self.num_classes

    def prefix(self, n: int) -> SyntheticSet:
        """The first n images of every class (MDC's subset S[n])."""
        if not 1 <= n <= self.ipc:
            raise ValueError(f"subset size must be in 1..{self.ipc}, got {n}")
        idx = torch.arange(self.num_classes).repeat_interleave(n) * self.ipc + torch.arange(n).repeat(
            self.num_classes
        )
        return replace(
            self,
            images=self.images[idx],
            labels=self.labels[idx],
            soft_labels=None if self.soft_labels is None else self.soft_labels[idx],
        )

    @property
    def formation_factor(self) -> int:
        """f of a multi-formation set (IDC): each stored image decodes into f² training images."""
        return int(self.extras.get("formation_factor", 1))

    def decoded(self) -> SyntheticSet:
        """The images a network trains on: f² per stored image (image-major), labels repeated.

        A set without multi-formation is returned unchanged. The result has factor 1.
        """
        f = self.formation_factor
        if f == 1:
            return self
        from dclab.formation import decode_formation

        repeat = f * f
        extras = {k: v for k, v in self.extras.items() if k != "formation_factor"}
        return replace(
            self,
            images=decode_formation(self.images.detach(), f),
            labels=self.labels.repeat_interleave(repeat),
            soft_labels=None if self.soft_labels is None else self.soft_labels.repeat_interleave(repeat, 0),
            extras=extras,
        )

    def detach_cpu(self) -> SyntheticSet:
        return replace(
            self,
            images=self.images.detach().cpu().clone(),
            labels=self.labels.detach().cpu().clone(),
            soft_labels=None if self.soft_labels is None else self.soft_labels.detach().cpu().clone(),
        )

    def denormalized(self) -> Tensor:
        """Images in pixel space [0, 1] (clipped), (N, C, H, W)."""
        return denormalize(self.images.detach().cpu(), self.mean, self.std)


def class_major_labels(num_classes: int, ipc: int, device: torch.device | str = "cpu") -> Tensor:
    """[0]*ipc + [1]*ipc + ... : the label vector of a class-major set."""
    return torch.arange(num_classes, device=device).repeat_interleave(ipc)
