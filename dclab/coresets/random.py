"""Random coreset: `ipc` training images per class drawn uniformly without replacement."""
from __future__ import annotations

import torch
from torch import Tensor

from dclab.coresets.registry import CORESETS
from dclab.data.bundle import DatasetBundle
from dclab.progress import Progress
from dclab.seeding import make_generator


@CORESETS.register("random")
def select_random(
    data: DatasetBundle, ipc: int, seed: int, device: torch.device, progress: Progress | None
) -> Tensor:
    generator = make_generator(seed)
    rows = []
    for c, pool in enumerate(data.indices_per_class):
        rows.append(pool[torch.randperm(pool.numel(), generator=generator)[:ipc]])
        if progress:
            progress(c + 1, data.num_classes)
    return torch.stack(rows)  # (classes, ipc)
