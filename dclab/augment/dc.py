"""DC's (non-differentiable) training augmentation, used when DC sets are evaluated (Zhao et al. 2021).

Per image, ONE op is drawn uniformly from the strategy, with the authors' strengths (`DCAugParams`):
  crop   - pad `crop` px on every side with the batch's channel mean, cut the original size back out
           at a random offset in [0, 2*crop) per axis;
  scale  - resize (nearest) to int(U(1-s, 1+s) * H) x int(U(1-s, 1+s) * H), centre it on a zero
           canvas, cut the original size out of the centre;
  rotate - rotate by an integer angle in [-rotate, rotate) degrees about the centre, the uncovered
           corners filled with the mean of the channel means (bilinear here; the authors use
           scipy's cubic spline);
  noise  - add noise * N(0, 1) per pixel.
Strategies of the authors' `get_daparam`: "crop_scale_rotate" for MNIST, "crop_noise" whenever the
evaluation net is ConvNetBN. All random numbers come from the caller's torch.Generator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

DC_OPS = ("crop", "scale", "rotate", "noise")
DC_STRATEGIES = ("crop_scale_rotate", "crop_noise")


@dataclass(frozen=True)
class DCAugParams:
    """Strengths of the authors' `get_daparam`."""

    crop: int = 4  # padding in pixels
    scale: float = 0.2  # side factor in [1 - scale, 1 + scale]
    rotate: int = 45  # degrees
    noise: float = 0.001  # std of the additive Gaussian noise


def parse_dc_strategy(strategy: str) -> tuple[str, ...]:
    """'crop_noise' -> ('crop', 'noise'); one-line ValueError on an unknown op."""
    ops = tuple(strategy.split("_"))
    bad = [op for op in ops if op not in DC_OPS]
    if bad or not ops:
        raise ValueError(f"unknown DC augmentation op(s) {', '.join(bad) or strategy!r}; valid: {', '.join(DC_OPS)}")
    return ops


def _crop(img: Tensor, fill: Tensor, p: DCAugParams, g: torch.Generator) -> Tensor:
    c, h, w = img.shape
    canvas = fill.view(c, 1, 1).expand(c, h + 2 * p.crop, w + 2 * p.crop).clone()
    canvas[:, p.crop:p.crop + h, p.crop:p.crop + w] = img
    r, s = (int(v) for v in torch.randint(0, 2 * p.crop, (2,), generator=g))
    return canvas[:, r:r + h, s:s + w]


def _scale(img: Tensor, p: DCAugParams, g: torch.Generator) -> Tensor:
    c, h, w = img.shape
    u = torch.rand(2, generator=g, dtype=torch.float64)
    nh, nw = (int((1 - p.scale + 2 * p.scale * float(v)) * h) for v in u)  # both from H, as the authors
    resized = F.interpolate(img.unsqueeze(0), size=(nh, nw), mode="nearest")[0]  # (C, nh, nw)
    side = max(nh, nw, h, w)
    canvas = img.new_zeros(c, side, side)
    r, s = (side - nh) // 2, (side - nw) // 2
    canvas[:, r:r + nh, s:s + nw] = resized
    r, s = (side - h) // 2, (side - w) // 2
    return canvas[:, r:r + h, s:s + w]


def _rotate(img: Tensor, fill: float, p: DCAugParams, g: torch.Generator) -> Tensor:
    angle = int(torch.randint(-p.rotate, p.rotate, (1,), generator=g)) * math.pi / 180
    cos, sin = math.cos(angle), math.sin(angle)
    theta = img.new_tensor([[[cos, -sin, 0.0], [sin, cos, 0.0]]])  # (1, 2, 3)
    grid = F.affine_grid(theta, [1, *img.shape], align_corners=False)
    # zero padding of (img - fill), shifted back: the corners become `fill`
    return F.grid_sample((img - fill).unsqueeze(0), grid, align_corners=False)[0] + fill


def dc_augment(x: Tensor, strategy: str, generator: torch.Generator, params: DCAugParams = DCAugParams()) -> Tensor:
    """x (B, C, H, W) -> a new tensor, each image changed by one op drawn from `strategy`."""
    ops = parse_dc_strategy(strategy)
    x = x.detach()
    channel_mean = x.mean(dim=(0, 2, 3))  # (C,) batch statistics, as the authors
    fill = float(channel_mean.mean())
    choice = torch.randint(0, len(ops), (x.shape[0],), generator=generator)
    out = []
    for img, k in zip(x, choice.tolist()):
        op = ops[k]
        if op == "crop":
            out.append(_crop(img, channel_mean, params, generator))
        elif op == "scale":
            out.append(_scale(img, params, generator))
        elif op == "rotate":
            out.append(_rotate(img, fill, params, generator))
        else:
            noise = torch.randn(img.shape, generator=generator, dtype=img.dtype).to(img.device)
            out.append(img + params.noise * noise)
    return torch.stack(out)
