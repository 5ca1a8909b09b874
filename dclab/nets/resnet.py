"""ResNet18 of the DC reference code (CIFAR stem: conv3x3 stride 1, no max-pool) and its BN variant.

Default norm is instancenorm (GroupNorm(C, C)), `resnet18_bn` uses BatchNorm. The final 4x4
average pool of the reference is an adaptive pool to 1x1 here (the same for 28/32 inputs). The
8x8 digits input skips the last down-sampling (maps 8, 4, 2, 2) so no norm sees a 1x1 map.
"""
from __future__ import annotations

from functools import partial

import torch
from torch import Tensor, nn

from dclab.nets.layers import make_norm
from dclab.nets.registry import NETS


class BasicBlock(nn.Module):
    """out = ReLU(norm(conv(ReLU(norm(conv(x))))) + shortcut(x))."""

    def __init__(self, c_in: int, c_out: int, stride: int, norm: str, hw: tuple[int, int]) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False)
        self.norm1 = make_norm(norm, c_out, hw)
        self.conv2 = nn.Conv2d(c_out, c_out, kernel_size=3, stride=1, padding=1, bias=False)
        self.norm2 = make_norm(norm, c_out, hw)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, kernel_size=1, stride=stride, bias=False), make_norm(norm, c_out, hw)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = torch.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))  # no in-place add: keeps torch.func happy


class ResNet(nn.Module):
    def __init__(
        self,
        channels: int,
        num_classes: int,
        image_size: tuple[int, int],
        blocks: tuple[int, ...] = (2, 2, 2, 2),
        width: int = 64,
        norm: str = "instancenorm",
    ) -> None:
        super().__init__()
        h, w = image_size
        self.stem = nn.Sequential(
            nn.Conv2d(channels, width, kernel_size=3, stride=1, padding=1, bias=False),
            make_norm(norm, width, (h, w)),
            nn.ReLU(),
        )
        stages: list[nn.Module] = []
        c_in = width
        for i, n in enumerate(blocks):
            c_out = width * 2**i  # 64, 128, 256, 512
            for j in range(n):
                # downsample at each stage start, unless the map would drop below 2x2 (8x8 input),
                # where per-sample instancenorm of a 1x1 map would output a constant
                stride = 2 if i > 0 and j == 0 and min(h, w) >= 4 else 1
                h, w = (h - 1) // stride + 1, (w - 1) // stride + 1  # conv3x3, padding 1
                stages.append(BasicBlock(c_in, c_out, stride, norm, (h, w)))
                c_in = c_out
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = c_in
        self.classifier = nn.Linear(self.feature_dim, num_classes)

    def embed(self, x: Tensor) -> Tensor:
        return torch.flatten(self.pool(self.layers(self.stem(x))), 1)  # (N, 8*width)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.embed(x))


NETS.register("resnet18")(ResNet)
NETS.register("resnet18_bn")(partial(ResNet, norm="batchnorm"))
