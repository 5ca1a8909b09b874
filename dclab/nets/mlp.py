"""MLP of the DC reference code: flatten -> 128 -> ReLU -> 128 -> ReLU -> classifier (3 layers)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from dclab.nets.registry import NETS


class MLP(nn.Module):
    def __init__(self, channels: int, num_classes: int, image_size: tuple[int, int], width: int = 128) -> None:
        super().__init__()
        h, w = image_size
        self.fc_1 = nn.Linear(channels * h * w, width)
        self.fc_2 = nn.Linear(width, width)
        self.classifier = nn.Linear(width, num_classes)
        self.feature_dim = width

    def embed(self, x: Tensor) -> Tensor:
        out = torch.relu(self.fc_1(torch.flatten(x, 1)))  # (N, C*H*W) -> (N, width)
        return torch.relu(self.fc_2(out))  # (N, width)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.embed(x))


NETS.register("mlp")(MLP)
