"""Forgetting coreset (Toneva et al. 2019): keep the examples forgotten most often during training.

A ConvNet is trained on the real training set for a few epochs; each time an example's
prediction goes from correct to wrong (a forgetting event) its count goes up. Per class the
examples with the most events are kept; ties are broken by a seeded random draw.
"""
from __future__ import annotations

import torch
from torch import Tensor

from dclab.coresets.registry import CORESETS, Progress
from dclab.data.bundle import DatasetBundle
from dclab.eval.feature_net import default_epochs, train_on_real
from dclab.seeding import make_generator

_COUNTS: dict[tuple, Tensor] = {}


class ForgettingCounter:
    """An `on_batch(batch_indices, logits)` callback counting forgetting events per example."""

    def __init__(self, labels: Tensor) -> None:
        self.labels = labels.cpu()  # (N,)
        self.correct = torch.zeros_like(self.labels, dtype=torch.bool)  # last prediction correct?
        self.events = torch.zeros_like(self.labels)  # (N,) forgetting events so far

    def __call__(self, batch_indices: Tensor, logits: Tensor) -> None:
        idx = batch_indices.cpu()
        now = logits.detach().argmax(1).cpu() == self.labels[idx]  # (B,)
        self.events[idx] += (self.correct[idx] & ~now).long()  # correct -> wrong
        self.correct[idx] = now


def forgetting_counts(data: DatasetBundle, seed: int, device: torch.device, epochs: int | None = None) -> Tensor:
    """(N,) forgetting events of every training example (memoised per data set, seed, epochs)."""
    epochs = epochs or max(3, default_epochs(int(data.x_train.shape[0])))
    key = (data.name, int(data.x_train.shape[0]), seed, epochs)
    if key not in _COUNTS:
        counter = ForgettingCounter(data.y_train)
        train_on_real(data, net="convnet", epochs=epochs, seed=seed, device=device, on_batch=counter)
        _COUNTS[key] = counter.events
    return _COUNTS[key]


@CORESETS.register("forgetting")
def select_forgetting(
    data: DatasetBundle, ipc: int, seed: int, device: torch.device, progress: Progress
) -> Tensor:
    counts = forgetting_counts(data, seed, device).double()  # (N,)
    # a uniform draw in [0, 1) below the integer counts breaks ties without reordering counts
    score = counts + torch.rand(counts.shape, generator=make_generator(seed), dtype=torch.float64)
    rows = []
    for c, pool in enumerate(data.indices_per_class):
        rows.append(pool[score[pool].argsort(descending=True)[:ipc]])
        if progress:
            progress(c + 1, data.num_classes)
    return torch.stack(rows)  # (classes, ipc)
