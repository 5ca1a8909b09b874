"""VGG11 of the DC reference code: 8 x [conv3x3 -> norm -> ReLU] with 5 max-pools -> linear.

Default norm is instancenorm (GroupNorm(C, C)), `vgg11_bn` uses BatchNorm. 28x28 input pads the
first conv by 3 (-> 32x32). Small inputs (8x8 digits) skip a max-pool rather than run convs on
1x1 maps, where instancenorm would output a constant.
"""
from __future__ import annotations

from functools import partial

import torch
from torch import Tensor, nn

from dclab.nets.layers import make_norm
from dclab.nets.registry import NETS

# channel multipliers of the width (reference width 64: 64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M)
VGG11_PLAN: tuple[int | str, ...] = (1, "M", 2, "M", 4, 4, "M", 8, 8, "M", 8, 8, "M")


class VGG(nn.Module):
    def __init__(
        self,
        channels: int,
        num_classes: int,
        image_size: tuple[int, int],
        width: int = 64,
        norm: str = "instancenorm",
        plan: tuple[int | str, ...] = VGG11_PLAN,
    ) -> None:
        super().__init__()
        h, w = image_size
        layers: list[nn.Module] = []
        c_in, first = channels, True
        for i, item in enumerate(plan):
            if item == "M":
                convs_follow = any(p != "M" for p in plan[i + 1:])
                # skip a pool that would leave convs (and their instancenorm) on a 1x1 map
                if min(h, w) >= (4 if convs_follow else 2):
                    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                    h, w = h // 2, w // 2
                continue
            c_out = width * int(item)
            padding = 3 if first and tuple(image_size) == (28, 28) else 1
            h, w = h + 2 * padding - 2, w + 2 * padding - 2
            layers += [nn.Conv2d(c_in, c_out, kernel_size=3, padding=padding), make_norm(norm, c_out, (h, w)), nn.ReLU()]
            c_in, first = c_out, False
        self.features = nn.Sequential(*layers)
        self.feature_dim = c_in * h * w
        self.classifier = nn.Linear(self.feature_dim, num_classes)

    def embed(self, x: Tensor) -> Tensor:
        return torch.flatten(self.features(x), 1)  # (N, 8*width*h*w); h = w = 1 for 28/32 inputs

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.embed(x))


NETS.register("vgg11")(VGG)
NETS.register("vgg11_bn")(partial(VGG, norm="batchnorm"))
