"""K-center coreset (Sener & Savarese 2018, greedy): farthest-first traversal in feature space.

Per class, start from the sample nearest the class mean, then repeatedly add the sample farthest
from everything chosen so far; this greedily shrinks the covering radius
max_j min_s ||f_j - f_s||. All classes advance together.
"""
from __future__ import annotations

import torch
from torch import Tensor

from dclab.coresets.embedding import ClassFeatures, class_features
from dclab.coresets.registry import CORESETS
from dclab.data.bundle import DatasetBundle
from dclab.progress import Progress


def kcenter_indices(cf: ClassFeatures, ipc: int, progress: Progress | None = None) -> Tensor:
    """(classes, ipc) positions (into cf's padded rows) chosen farthest-first, in selection order."""
    f, valid = cf.features, cf.valid  # (C, M, D), (C, M)
    rows = torch.arange(f.shape[0], device=f.device)
    to_mean = torch.cdist(f, cf.class_means().unsqueeze(1)).squeeze(2)  # (C, M)
    j = to_mean.masked_fill(~valid, float("inf")).argmin(1)  # (C,) nearest the class mean
    picks = [j]
    available = valid.clone()
    available[rows, j] = False
    min_dist = torch.cdist(f, f[rows, j].unsqueeze(1)).squeeze(2)  # (C, M) distance to nearest chosen
    for k in range(1, ipc):
        j = min_dist.masked_fill(~available, -1.0).argmax(1)  # farthest from the chosen set
        picks.append(j)
        available[rows, j] = False
        new = torch.cdist(f, f[rows, j].unsqueeze(1)).squeeze(2)  # (C, M)
        min_dist = torch.minimum(min_dist, new)
        if progress:
            progress(k + 1, ipc)
    return torch.stack(picks, 1)  # (C, ipc)


def covering_radius(features: Tensor, chosen: Tensor) -> float:
    """max over rows of `features` (N, D) of the distance to the nearest row of `chosen` (k, D)."""
    return float(torch.cdist(features, chosen).min(1).values.max())


@CORESETS.register("kcenter")
def select_kcenter(
    data: DatasetBundle, ipc: int, seed: int, device: torch.device, progress: Progress | None
) -> Tensor:
    cf = class_features(data, seed, device)
    pos = kcenter_indices(cf, ipc, progress)
    return torch.gather(cf.index, 1, pos)  # (classes, ipc) indices into x_train
