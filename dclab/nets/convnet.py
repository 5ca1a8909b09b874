"""ConvNet-D (the DC/DSA/DM/MTT reference network): D x [conv3x3 -> norm -> act -> pool] -> linear.

D defaults to the reference 3, fewer for images under 16x16 (see `default_depth`)."""
from __future__ import annotations

from functools import partial

import torch
from torch import Tensor, nn

from dclab.nets.layers import make_act, make_norm, make_pool
from dclab.nets.registry import NETS


def default_depth(image_size: tuple[int, int], reference: int = 3) -> int:
    """The reference depth 3 (32x32 -> 4x4 maps), fewer blocks where pooling would leave maps
    smaller than 2x2: on 8x8 digits a third block normalises 2x2 maps and pools them to 1x1, and
    gradient matching stalls (measured: DC loss on a fixed net 463 -> 428 at depth 3, 250 -> 34
    at depth 2, 40 steps)."""
    smallest = min(image_size)
    fitting = max(1, smallest.bit_length() - 2)  # 2**(d+1) <= smallest: the last map is >= 2x2
    return min(reference, fitting)


class ConvNet(nn.Module):
    def __init__(
        self,
        channels: int,
        num_classes: int,
        image_size: tuple[int, int],
        width: int = 128,
        depth: int | None = None,
        norm: str = "instancenorm",
        act: str = "relu",
        pool: str = "avgpool",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, (h, w) = channels, image_size
        if (h, w) == (28, 28):
            h, w = 32, 32  # reference rule: 28x28 input, first conv padding 3 -> works at 32x32
        if depth is None:
            depth = default_depth((h, w))
        for d in range(depth):
            padding = 3 if d == 0 and tuple(image_size) == (28, 28) else 1
            layers.append(nn.Conv2d(c_in, width, kernel_size=3, padding=padding))
            layers.append(make_norm(norm, width, (h, w)))
            layers.append(make_act(act))
            if pool != "none":
                layers.append(make_pool(pool))
                h, w = max(h // 2, 1), max(w // 2, 1)
            c_in = width
        self.features = nn.Sequential(*layers)
        self.feature_dim = width * h * w
        self.classifier = nn.Linear(self.feature_dim, num_classes)

    def embed(self, x: Tensor) -> Tensor:
        return torch.flatten(self.features(x), 1)  # (N, width*h*w)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.embed(x))


NETS.register("convnet")(ConvNet)
NETS.register("convnet_bn")(partial(ConvNet, norm="batchnorm"))
