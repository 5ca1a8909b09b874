"""Pictures of image sets: a class-major grid (one row per class), un-normalised and upscaled.

Images are un-normalised with the data set's mean/std and clipped to [0, 1]; tiles are upscaled by
nearest neighbour so that tiny (8x8) images stay visible. Exports (`dclab.runs.export`) and pages
draw with the same functions.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image, ImageDraw
from torch import Tensor

from dclab.data.bundle import denormalize

TARGET_TILE = 64  # default upscaling aims at tiles about this many pixels wide
GAP = 2  # white pixels between tiles
LABEL_CHAR_W = 7  # width per character of the class-name column (PIL's default bitmap font)


def tile_scale(height: int) -> int:
    """Integer nearest-neighbour factor: 8 for 8x8, 2 for 28x28/32x32, 1 for 64x64 and up."""
    return max(1, TARGET_TILE // max(height, 1))


def grid_image(
    images01: Tensor, ipc: int, class_names: Sequence[str] | None = None, scale: int | None = None
) -> Image.Image:
    """A grid of images01 (N, C, H, W) in [0, 1], class-major: one row per class, ipc columns.

    Size without names: width = ipc*W*s + (ipc-1)*GAP, height = rows*H*s + (rows-1)*GAP.
    With class_names a label column is added on the left.
    """
    if images01.dim() != 4 or images01.shape[0] % ipc:
        raise ValueError(f"need (classes*ipc, C, H, W) images, got {tuple(images01.shape)} for ipc {ipc}")
    n, c, h, w = images01.shape
    rows, s = n // ipc, scale or tile_scale(h)
    x = images01.detach().cpu().float().clamp(0, 1)
    x = x.repeat_interleave(s, dim=2).repeat_interleave(s, dim=3)  # nearest-neighbour upscaling
    th, tw = h * s, w * s
    label_w = 0 if not class_names else LABEL_CHAR_W * max(len(str(t)) for t in class_names) + 2 * GAP
    canvas = torch.ones(3, rows * th + (rows - 1) * GAP, label_w + ipc * tw + (ipc - 1) * GAP)  # white
    tiles = x.expand(-1, 3, -1, -1) if c == 1 else x[:, :3]
    for i in range(n):
        r, k = divmod(i, ipc)
        top, left = r * (th + GAP), label_w + k * (tw + GAP)
        canvas[:, top:top + th, left:left + tw] = tiles[i]
    img = Image.fromarray((canvas.permute(1, 2, 0).numpy() * 255).round().astype("uint8"), "RGB")
    if class_names:
        draw = ImageDraw.Draw(img)
        for r, name in enumerate(list(class_names)[:rows]):
            draw.text((GAP, r * (th + GAP) + max(0, th // 2 - 5)), str(name), fill=(0, 0, 0))
    return img


def snapshot_grid(images: Tensor, mean: Sequence[float], std: Sequence[float], ipc: int,
                  class_names: Sequence[str] | None = None, scale: int | None = None) -> Image.Image:
    """Grid of a normalised class-major set (images[c*ipc+i]), as methods and snapshots hold it."""
    return grid_image(denormalize(images.detach().cpu().float(), mean, std), ipc,
                      class_names=list(class_names or []) or None, scale=scale)
