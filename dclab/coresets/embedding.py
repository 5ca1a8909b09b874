"""Per-class embeddings of the training set, padded into one tensor so all classes run at once."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from dclab.data.bundle import DatasetBundle


@dataclass(frozen=True)
class ClassFeatures:
    """features: (classes, M, D) zero-padded; valid: (classes, M) bool; index: (classes, M) into x_train
    (padding rows point at -1). M is the size of the largest class."""

    features: Tensor
    valid: Tensor
    index: Tensor
    normalised: bool = False  # rows scaled to unit L2 norm

    def class_means(self) -> Tensor:
        """(classes, D) mean feature of each class (padding excluded)."""
        counts = self.valid.sum(1, keepdim=True).clamp_min(1)
        return (self.features * self.valid.unsqueeze(-1)).sum(1) / counts


def pad_by_class(features: Tensor, data: DatasetBundle) -> ClassFeatures:
    """Split (N, D) features of x_train into the padded per-class layout."""
    sizes = [int(p.numel()) for p in data.indices_per_class]
    m, d, dev = max(sizes), features.shape[1], features.device
    out = torch.zeros(data.num_classes, m, d, device=dev, dtype=features.dtype)
    valid = torch.zeros(data.num_classes, m, dtype=torch.bool, device=dev)
    index = torch.full((data.num_classes, m), -1, dtype=torch.long, device=dev)
    for c, pool in enumerate(data.indices_per_class):
        n = sizes[c]
        out[c, :n] = features[pool.to(dev)]
        valid[c, :n] = True
        index[c, :n] = pool.to(dev)
    return ClassFeatures(out, valid, index)


def class_features(data: DatasetBundle, seed: int, device: torch.device) -> ClassFeatures:
    """Embeddings of every training image by the cached feature net trained with `seed`."""
    from dclab.eval.feature_net import embed_all, trained_feature_net

    net = trained_feature_net(data, seed=seed, device=device)
    return pad_by_class(embed_all(net, data.x_train), data)
