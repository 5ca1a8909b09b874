"""Differentiable Siamese Augmentation (DSA, Zhao & Bilen 2021), mode "S".

Per call ONE op family is drawn from the strategy (mode "S"), then one parameter draw per group.
Every op is differentiable w.r.t. the images (affine grids + `grid_sample`, masks, arithmetic), so
a condensation loss can back-propagate through the augmentation into the synthetic images.
Siamese use: draw once, apply the same `DSADraw` to the real and to the synthetic batch.

All random numbers come from the caller's (CPU) `torch.Generator`; parameters are stored as
shape-independent uniform draws and turned into pixels at `apply` time, on the images' device.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from dclab.config import ConfigError

OPS = ("color", "crop", "cutout", "flip", "scale", "rotate")
DEFAULT_STRATEGY = "color_crop_cutout_flip_scale_rotate"
NO_FLIP_STRATEGY = "color_crop_cutout_scale_rotate"
_NO_FLIP_DATASETS = ("mnist", "digits", "svhn")  # digits are not mirror-symmetric


@dataclass(frozen=True)
class DSAParams:
    """Op strengths of the reference DSA code."""

    flip: float = 0.5  # probability of a horizontal flip
    scale: float = 1.2  # scale factor in [1/scale, scale] per axis
    rotate: float = 15.0  # rotation angle in [-rotate, rotate] degrees
    crop: float = 0.125  # translation up to crop * size pixels (zero padding)
    cutout: float = 0.5  # side of the square hole, as a fraction of the image side
    brightness: float = 1.0  # x + (u - 0.5) * brightness
    saturation: float = 2.0  # channel-mean blend factor u * saturation
    contrast: float = 0.5  # image-mean blend factor u + contrast


AUTO = "auto"  # the strategy setting that stands for "the published strategy of this data set"


def dsa_strategy_for(dataset_name: str) -> str:
    """The published strategy for a data set: MNIST-like digits and SVHN omit flip."""
    return NO_FLIP_STRATEGY if dataset_name.lower() in _NO_FLIP_DATASETS else DEFAULT_STRATEGY


def resolve_dsa_strategy(strategy: str, dataset_name: str) -> str:
    """The one resolver of a DSA-strategy setting (methods and evaluation protocols alike):
    'auto' -> the published strategy of the data set; anything else is used as written, after a
    check (one-line ConfigError naming the bad op), so an explicit strategy is never rewritten."""
    if strategy == AUTO:
        return dsa_strategy_for(dataset_name)
    try:
        parse_strategy(strategy)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return strategy


def parse_strategy(strategy: str) -> tuple[str, ...]:
    """'color_crop_flip' -> ('color', 'crop', 'flip'); '' or 'none' -> (). One-line ValueError."""
    if strategy in ("", "none"):
        return ()
    ops = tuple(strategy.split("_"))
    bad = [op for op in ops if op not in OPS]
    if bad:
        raise ValueError(f"unknown DSA op(s) {', '.join(bad)} in {strategy!r}; valid ops: {', '.join(OPS)}")
    return ops


# ---------------------------------------------------------------------------------------------
# Samplers: (num_groups, generator, params) -> uniform draws u of shape (G, k), all in [0, 1).
# Appliers: (x (G, n, C, H, W), u (G, k), params) -> augmented x, same shape.
# ---------------------------------------------------------------------------------------------

_WIDTH = {"color": 3, "crop": 2, "cutout": 2, "flip": 1, "scale": 2, "rotate": 1}


def _color(x: Tensor, u: Tensor, p: DSAParams) -> Tensor:
    """Brightness, then saturation, then contrast (the reference 'color' family)."""
    b = ((u[:, 0] - 0.5) * p.brightness).view(-1, 1, 1, 1, 1)  # (G,1,1,1,1) additive shift
    x = x + b
    if x.shape[2] > 1:  # saturation is a no-op on 1-channel images
        s = (u[:, 1] * p.saturation).view(-1, 1, 1, 1, 1)
        m = x.mean(dim=2, keepdim=True)  # (G, n, 1, H, W) per-pixel channel mean
        x = (x - m) * s + m
    c = (u[:, 2] + p.contrast).view(-1, 1, 1, 1, 1)
    m = x.mean(dim=(2, 3, 4), keepdim=True)  # (G, n, 1, 1, 1) per-image mean
    return (x - m) * c + m


def _flip(x: Tensor, u: Tensor, p: DSAParams) -> Tensor:
    do = (u[:, 0] < p.flip).view(-1, 1, 1, 1, 1)  # (G,1,1,1,1) bool
    return torch.where(do, x.flip(-1), x)


def _cutout(x: Tensor, u: Tensor, p: DSAParams) -> Tensor:
    """Zero a square hole of side round(cutout * size) centred at a uniform position."""
    h, w = x.shape[-2:]
    ch, cw = int(h * p.cutout + 0.5), int(w * p.cutout + 0.5)
    # centre in [0, size + 1 - side % 2) as in the reference code
    cy = (u[:, 0] * (h + 1 - ch % 2)).floor().long().view(-1, 1, 1)  # (G,1,1)
    cx = (u[:, 1] * (w + 1 - cw % 2)).floor().long().view(-1, 1, 1)
    gy = torch.arange(h, device=x.device).view(1, h, 1)
    gx = torch.arange(w, device=x.device).view(1, 1, w)
    hole = (gy >= cy - ch // 2) & (gy < cy - ch // 2 + ch) & (gx >= cx - cw // 2) & (gx < cx - cw // 2 + cw)
    mask = (~hole).to(x.dtype).view(-1, 1, 1, h, w)  # (G,1,1,H,W): 0 inside the hole
    return x * mask


def _theta_crop(u: Tensor, p: DSAParams, h: int, w: int) -> Tensor:
    """Integer translation by s in [-round(crop*size), +round(crop*size)] pixels, zero padded."""
    my, mx = int(h * p.crop + 0.5), int(w * p.crop + 0.5)
    sy = (u[:, 0] * (2 * my + 1)).floor() - my  # (G,) pixels
    sx = (u[:, 1] * (2 * mx + 1)).floor() - mx
    theta = torch.zeros(u.shape[0], 2, 3, dtype=u.dtype, device=u.device)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    # with align_corners=True one pixel is 2 / (size - 1) in normalised coordinates
    theta[:, 0, 2] = sx * 2.0 / max(w - 1, 1)
    theta[:, 1, 2] = sy * 2.0 / max(h - 1, 1)
    return theta


def _theta_scale(u: Tensor, p: DSAParams, h: int, w: int) -> Tensor:
    """theta = [[sx, 0, 0], [0, sy, 0]], s ~ U[1/scale, scale] per axis."""
    s = u * (p.scale - 1.0 / p.scale) + 1.0 / p.scale  # (G, 2)
    theta = torch.zeros(u.shape[0], 2, 3, dtype=u.dtype, device=u.device)
    theta[:, 0, 0] = s[:, 0]
    theta[:, 1, 1] = s[:, 1]
    return theta


def _theta_rotate(u: Tensor, p: DSAParams, h: int, w: int) -> Tensor:
    """theta = [[cos a, sin a, 0], [-sin a, cos a, 0]], a ~ U[-rotate, rotate] degrees."""
    a = (u[:, 0] - 0.5) * 2.0 * p.rotate / 180.0 * math.pi  # (G,) radians
    theta = torch.zeros(u.shape[0], 2, 3, dtype=u.dtype, device=u.device)
    theta[:, 0, 0], theta[:, 0, 1] = torch.cos(a), torch.sin(a)
    theta[:, 1, 0], theta[:, 1, 1] = -torch.sin(a), torch.cos(a)
    return theta


_THETAS: dict[str, Callable[[Tensor, DSAParams, int, int], Tensor]] = {
    "crop": _theta_crop,
    "scale": _theta_scale,
    "rotate": _theta_rotate,
}


def _warp(x: Tensor, theta: Tensor) -> Tensor:
    """One grid_sample for all groups: the n images of a group are stacked as channels.

    x: (G, n, C, H, W); theta: (G, 2, 3) -> (G, n, C, H, W)
    """
    g, n, c, h, w = x.shape
    flat = x.reshape(g, n * c, h, w)  # (G, n*C, H, W): same grid for every image of a group
    grid = F.affine_grid(theta, [g, n * c, h, w], align_corners=True)  # (G, H, W, 2)
    out = F.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return out.reshape(g, n, c, h, w)


_APPLY: dict[str, Callable[[Tensor, Tensor, DSAParams], Tensor]] = {
    "color": _color,
    "cutout": _cutout,
    "flip": _flip,
}


@dataclass(frozen=True)
class DSADraw:
    """One mode-"S" draw: op family `op` (or "none") and per-group uniform draws `u` (G, k)."""

    op: str
    u: Tensor  # (num_groups, k) in [0, 1); meaning depends on `op` (see the op functions)
    params: DSAParams = DSAParams()

    @property
    def num_groups(self) -> int:
        return int(self.u.shape[0])

    def apply(self, x: Tensor) -> Tensor:
        """x: (G, n, C, H, W); group g's transform is applied to all n images of group g."""
        if x.dim() != 5 or x.shape[0] != self.num_groups:
            raise ValueError(f"expected (G={self.num_groups}, n, C, H, W) images, got {tuple(x.shape)}")
        if self.op == "none":
            return x
        u = self.u.to(device=x.device, dtype=x.dtype)
        if self.op in _THETAS:
            return _warp(x, _THETAS[self.op](u, self.params, x.shape[-2], x.shape[-1]))
        return _APPLY[self.op](x, u, self.params)


def sample_dsa(
    strategy: str,
    num_groups: int,
    generator: torch.Generator,
    params: DSAParams = DSAParams(),
    device: torch.device | str = "cpu",
) -> DSADraw:
    """Mode "S": pick one op family of `strategy`, then one parameter draw per group."""
    ops = parse_strategy(strategy)
    if not ops:
        return DSADraw("none", torch.zeros(num_groups, 0, device=device), params)
    op = ops[int(torch.randint(len(ops), (1,), generator=generator).item())]
    u = torch.rand(num_groups, _WIDTH[op], generator=generator, device=generator.device)
    return DSADraw(op, u.to(device), params)


def dsa_augment(
    x: Tensor, strategy: str, generator: torch.Generator, params: DSAParams = DSAParams()
) -> Tensor:
    """Independent random parameters per image (evaluation-time training). x: (N, C, H, W)."""
    draw = sample_dsa(strategy, x.shape[0], generator, params, device=x.device)
    return draw.apply(x.unsqueeze(1)).squeeze(1)  # each image is its own group


def draw_siamese(strategy: str, real: Tensor, syn: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """One siamese draw with a parameter set per class, applied to both batches.

    real: (classes, B, C, H, W), syn: (classes, N, C, H, W); differentiable w.r.t. syn.
    """
    draw = sample_dsa(strategy, num_groups=real.shape[0], generator=generator, device=real.device)
    return draw.apply(real), draw.apply(syn)
