"""Herding coreset (Welling 2009; the DC papers' baseline): greedy mean matching in feature space.

Per class, pick one by one the sample whose addition brings the mean of the selected features
closest to the class mean. As iCaRL (Rebuffi et al. 2017), features are L2-normalised and so is
the class mean. All classes advance together; features come from a ConvNet trained on the real
training set (`trained_feature_net`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from dclab.coresets.embedding import ClassFeatures, class_features
from dclab.coresets.registry import CORESETS
from dclab.data.bundle import DatasetBundle
from dclab.progress import Progress


def herding_indices(cf: ClassFeatures, ipc: int, progress: Progress | None = None) -> Tensor:
    """(classes, ipc) positions (into cf's padded rows) chosen by herding, in selection order."""
    f, valid = cf.features, cf.valid  # (C, M, D), (C, M)
    mu = cf.class_means()  # (C, D)
    if cf.normalised:
        mu = F.normalize(mu, dim=-1)  # iCaRL: the class mean of unit features, normalised
    sq_norm = (f * f).sum(-1)  # (C, M) ||f_j||^2
    running = torch.zeros_like(mu)  # (C, D) sum of selected features
    available = valid.clone()
    picks = []
    for k in range(ipc):
        # ||(S + f_j)/(k+1) - mu||^2 = ||r||^2 + 2<r, f_j>/(k+1) + ||f_j||^2/(k+1)^2, r = S/(k+1) - mu;
        # ||r||^2 is the same for every j, so it is dropped.
        r = running / (k + 1) - mu  # (C, D)
        score = 2.0 / (k + 1) * torch.einsum("cmd,cd->cm", f, r) + sq_norm / (k + 1) ** 2  # (C, M)
        score = score.masked_fill(~available, float("inf"))
        j = score.argmin(1)  # (C,)
        picks.append(j)
        available[torch.arange(f.shape[0]), j] = False
        running = running + f[torch.arange(f.shape[0]), j]
        if progress:
            progress(k + 1, ipc)
    return torch.stack(picks, 1)  # (C, ipc)


def normalised(cf: ClassFeatures) -> ClassFeatures:
    """Features scaled to unit L2 norm (padding rows stay zero)."""
    return ClassFeatures(F.normalize(cf.features, dim=-1), cf.valid, cf.index, normalised=True)


@CORESETS.register("herding")
def select_herding(
    data: DatasetBundle, ipc: int, seed: int, device: torch.device, progress: Progress | None
) -> Tensor:
    cf = normalised(class_features(data, seed, device))
    pos = herding_indices(cf, ipc, progress)
    return torch.gather(cf.index, 1, pos)  # (classes, ipc) indices into x_train
