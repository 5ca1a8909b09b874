"""LeNet-5 of the DC reference code: 2 x [conv5x5 -> ReLU -> maxpool2] -> 120 -> 84 -> classifier.

Reference sizes: 28x28 (first conv padded by 2) and 32x32 both reach 16x5x5 features. Smaller
inputs (8x8 digits) also pad the second conv by 2, so the maps never shrink to zero.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from dclab.nets.registry import NETS


class LeNet(nn.Module):
    def __init__(self, channels: int, num_classes: int, image_size: tuple[int, int]) -> None:
        super().__init__()
        h, w = image_size
        pad1 = 2 if min(h, w) < 32 else 0  # reference: padding 2 for 28x28 MNIST
        h, w = (h + 2 * pad1 - 4) // 2, (w + 2 * pad1 - 4) // 2  # conv5 then pool2
        pad2 = 2 if min(h, w) < 10 else 0  # small inputs: keep the second conv's map non-empty
        h, w = (h + 2 * pad2 - 4) // 2, (w + 2 * pad2 - 4) // 2
        self.features = nn.Sequential(
            nn.Conv2d(channels, 6, kernel_size=5, padding=pad1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5, padding=pad2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.fc_1 = nn.Linear(16 * h * w, 120)
        self.fc_2 = nn.Linear(120, 84)
        self.classifier = nn.Linear(84, num_classes)
        self.feature_dim = 84

    def embed(self, x: Tensor) -> Tensor:
        out = torch.flatten(self.features(x), 1)  # (N, 16*h*w)
        out = torch.relu(self.fc_1(out))  # (N, 120)
        return torch.relu(self.fc_2(out))  # (N, 84)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.embed(x))


NETS.register("lenet")(LeNet)
