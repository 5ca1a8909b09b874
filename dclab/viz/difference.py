"""'Initial vs now' as a picture: the signed pixel change of every image, as a diverging colour map.

White = unchanged, red = brighter now, blue = darker now; full colour at `scale`, by default the
99th percentile of the changes in the set (`SCALE_QUANTILE`): a few pixels that moved far would
otherwise set the scale and leave every other change pale; the 1 % beyond it show at full colour.
The scale is returned to be stated next to the picture.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from dclab.data.bundle import denormalize

SCALE_QUANTILE = 0.99  # the share of changes shown below full colour by default


def difference_rgb(initial: Tensor, now: Tensor, mean: Sequence[float], std: Sequence[float],
                   scale: float | None = None, quantile: float = SCALE_QUANTILE) -> tuple[Tensor, float]:
    """(RGB images (N, 3, H, W) in [0, 1], the change shown at full colour) for normalised sets
    `initial` and `now` (N, C, H, W) of the same shape; the change is averaged over channels.

    scale: the change at full colour; None = the `quantile` of |change| over the set (1.0: the largest)."""
    if initial.shape != now.shape:
        raise ValueError(f"initial {tuple(initial.shape)} and now {tuple(now.shape)} differ in shape")
    if not 0.0 < quantile <= 1.0:
        raise ValueError(f"quantile must be in (0, 1], got {quantile}")
    d = (denormalize(now, mean, std) - denormalize(initial, mean, std)).mean(1, keepdim=True)  # (N, 1, H, W)
    full = change_scale(d, quantile) if scale is None else float(scale)
    t = (d / full).clamp(-1, 1) if full > 0 else torch.zeros_like(d)
    pos, neg = t.clamp_min(0), (-t).clamp_min(0)
    rgb = torch.cat([1 - neg, 1 - pos - neg, 1 - pos], dim=1)  # red: (1, 1-p, 1-p); blue: (1-n, 1-n, 1)
    return rgb.clamp(0, 1), full


def change_scale(change: Tensor, quantile: float = SCALE_QUANTILE) -> float:
    """The `quantile` of |change| (nearest rank: the smallest value at or above that share)."""
    flat = change.abs().flatten()
    k = max(1, math.ceil(quantile * flat.numel()))
    return float(flat.kthvalue(k).values)
