"""'Initial vs now' as a picture: the signed pixel change of every image, as a diverging colour map.

White = unchanged, red = brighter now, blue = darker now; full colour at `scale` (default: the
largest change in the set, so the map always uses the whole range; the scale is returned to be
stated next to the picture).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from dclab.data.bundle import denormalize


def difference_rgb(initial: Tensor, now: Tensor, mean: Sequence[float], std: Sequence[float],
                   scale: float | None = None) -> tuple[Tensor, float]:
    """(RGB images (N, 3, H, W) in [0, 1], the change shown at full colour) for normalised sets
    `initial` and `now` (N, C, H, W) of the same shape; the change is averaged over channels."""
    if initial.shape != now.shape:
        raise ValueError(f"initial {tuple(initial.shape)} and now {tuple(now.shape)} differ in shape")
    d = (denormalize(now, mean, std) - denormalize(initial, mean, std)).mean(1, keepdim=True)  # (N, 1, H, W)
    full = float(d.abs().max()) if scale is None else float(scale)
    t = (d / full).clamp(-1, 1) if full > 0 else torch.zeros_like(d)
    pos, neg = t.clamp_min(0), (-t).clamp_min(0)
    rgb = torch.cat([1 - neg, 1 - pos - neg, 1 - pos], dim=1)  # red: (1, 1-p, 1-p); blue: (1-n, 1-n, 1)
    return rgb.clamp(0, 1), full
