"""Forgetting coreset (Toneva et al. 2019): keep the examples forgotten most often during training.

The forgetting events come from the real training run of the cached feature net
(`dclab.eval.feature_net.real_training`, several epochs): each time an example's prediction goes
from correct to wrong its count goes up. Examples never learned during that run rank as the most
forgotten (Toneva et al.: infinitely many events). Per class the highest scores are kept; ties
are broken by a seeded random draw.
"""
from __future__ import annotations

import torch
from torch import Tensor

from dclab.coresets.registry import CORESETS
from dclab.data.bundle import DatasetBundle
from dclab.eval.feature_net import ForgettingCounter, real_training
from dclab.progress import Progress
from dclab.seeding import make_generator

__all__ = ["ForgettingCounter", "forgetting_scores", "select_forgetting"]


def forgetting_scores(events: Tensor, learned: Tensor) -> Tensor:
    """(N,) float64: the number of forgetting events; +inf for examples never learned."""
    return events.double().masked_fill(~learned.bool(), float("inf"))


@CORESETS.register("forgetting")
def select_forgetting(
    data: DatasetBundle, ipc: int, seed: int, device: torch.device, progress: Progress | None
) -> Tensor:
    run = real_training(data, seed=seed, device=device)
    score = forgetting_scores(run.forgetting, run.learned)  # (N,)
    # a uniform draw in [0, 1) below the integer counts breaks ties without reordering counts
    score = score + torch.rand(score.shape, generator=make_generator(seed), dtype=torch.float64)
    rows = []
    for c, pool in enumerate(data.indices_per_class):
        rows.append(pool[score[pool].argsort(descending=True)[:ipc]])
        if progress:
            progress(c + 1, data.num_classes)
    return torch.stack(rows)  # (classes, ipc)
