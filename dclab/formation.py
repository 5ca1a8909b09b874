"""Multi-formation (IDC, Kim et al. 2022): one stored image holds factor² smaller images.

A stored image (C, H, W) is cut into a factor × factor grid of blocks (C, H/f, W/f); each block
is resized back to (H, W) (bilinear), so N stored images of a class train a net as N·f² images
(image-major: the f² images of stored image 0 first). `mosaic` is the inverse layout used to
initialise: f² real images, shrunk to (H/f, W/f), tiled into one stored image.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def _check(h: int, w: int, factor: int) -> None:
    if h % factor or w % factor:
        raise ValueError(f"image size {h}x{w} is not divisible by the formation factor {factor}")


def decode_formation(images: Tensor, factor: int) -> Tensor:
    """(M, C, H, W) stored -> (M·f², C, H, W) decoded, differentiable; factor 1 is the identity."""
    if factor == 1:
        return images
    m, c, h, w = images.shape
    _check(h, w, factor)
    blocks = images.view(m, c, factor, h // factor, factor, w // factor)  # (M, C, fy, h, fx, w)
    blocks = blocks.permute(0, 2, 4, 1, 3, 5).reshape(m * factor * factor, c, h // factor, w // factor)
    return F.interpolate(blocks, size=(h, w), mode="bilinear", align_corners=False)  # (M·f², C, H, W)


def mosaic(images: Tensor, factor: int) -> Tensor:
    """(M·f², C, H, W) -> (M, C, H, W): each group of f² images shrunk and tiled row-major."""
    if factor == 1:
        return images
    n, c, h, w = images.shape
    _check(h, w, factor)
    small = F.interpolate(images, size=(h // factor, w // factor), mode="bilinear", align_corners=False,
                          antialias=True)  # (M·f², C, h, w)
    m = n // (factor * factor)
    tiles = small.view(m, factor, factor, c, h // factor, w // factor)  # (M, fy, fx, C, h, w)
    return tiles.permute(0, 3, 1, 4, 2, 5).reshape(m, c, h, w)
