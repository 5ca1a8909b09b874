"""Normalised images (as methods and snapshots hold them) -> one PIL grid, one row per class."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image
from torch import Tensor


def denormalize(images: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """x * std + mean, clipped to [0, 1]. images (N, C, H, W) normalised -> (N, C, H, W) pixels."""
    m = torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1)
    return (images.detach().cpu().float() * s + m).clamp(0.0, 1.0)


def snapshot_grid(images: Tensor, mean: Sequence[float], std: Sequence[float], ipc: int,
                  class_names: Sequence[str] | None = None, scale: int | None = None) -> Image.Image:
    """Grid of a class-major set (images[c*ipc+i]) via the shared exporter `grid_image`."""
    from dclab.runs.export import grid_image

    return grid_image(denormalize(images, mean, std), ipc, class_names=list(class_names or []) or None,
                      scale=scale)
