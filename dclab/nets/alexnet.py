"""AlexNet of the DC reference code (5 convs, 3 max-pools, one linear layer) and its BN variant.

Reference: 28x28 input pads the first conv by 4 (-> 32x32) and ends at 192x4x4 features.
Small inputs (8x8 digits) skip a max-pool rather than run convs on 1x1 maps.
"""
from __future__ import annotations

from functools import partial

import torch
from torch import Tensor, nn

from dclab.nets.layers import make_norm
from dclab.nets.registry import NETS


class AlexNet(nn.Module):
    def __init__(
        self,
        channels: int,
        num_classes: int,
        image_size: tuple[int, int],
        width: int = 128,
        norm: str = "none",
    ) -> None:
        super().__init__()
        h, w = image_size
        c1, c2, c3 = width, width * 3 // 2, width * 2  # reference widths 128, 192, 256
        # (out channels, kernel, padding, pool after?) per conv
        plan = [
            (c1, 5, 4 if (h, w) == (28, 28) else 2, True),
            (c2, 5, 2, True),
            (c3, 3, 1, False),
            (c2, 3, 1, False),
            (c2, 3, 1, True),
        ]
        layers: list[nn.Module] = []
        c_in = channels
        for i, (c_out, k, p, pool) in enumerate(plan):
            h, w = h + 2 * p - k + 1, w + 2 * p - k + 1
            layers += [nn.Conv2d(c_in, c_out, kernel_size=k, padding=p), make_norm(norm, c_out, (h, w)), nn.ReLU()]
            last = i == len(plan) - 1
            # skip a pool that would leave later convs (and a per-sample norm) on a 1x1 map
            if pool and min(h, w) >= (2 if last else 4):
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                h, w = h // 2, w // 2
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.feature_dim = c_in * h * w
        self.classifier = nn.Linear(self.feature_dim, num_classes)

    def embed(self, x: Tensor) -> Tensor:
        return torch.flatten(self.features(x), 1)  # (N, 192*h*w)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.embed(x))


NETS.register("alexnet")(AlexNet)
NETS.register("alexnet_bn")(partial(AlexNet, norm="batchnorm"))
