"""A ConvNet trained on the real training set, for feature-space coresets (herding, k-center),
forgetting counts and t-SNE.

One real training run (evaluation protocol optimiser, `default_epochs`) gives the feature net AND
the per-example forgetting statistics of that run (Toneva et al. 2019). It is cached in memory and
on disk under `<cache_dir>/<dataset>_<net>_e<epochs>_s<seed>_n<train size>.pt`, as a dict of
tensors (`torch.save`; loaded with weights_only=True): the state_dict, the test accuracy it
reached, the training seconds, forgetting events and whether each example was ever learned.
Measured on the shared 2-core CPU: see `benchmarks.coresets_vs_random` (it prints the record).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from dclab.data.bundle import DatasetBundle
from dclab.device import resolve_device
from dclab.eval.protocol import EvalProtocol
from dclab.files import safe_name, save_torch
from dclab.nets import get_net
from dclab.seeding import make_generator

CACHE_ENV = "DCLAB_CACHE"
TARGET_STEPS = 1400  # SGD steps the default epoch count aims at: MNIST 6 epochs, CIFAR-10 8, digits 20
MAX_EPOCHS = 20

_MEMORY: dict[tuple, dict[str, Tensor]] = {}


def default_cache_dir() -> Path:
    """$DCLAB_CACHE/feature_nets, else ~/.cache/dclab/feature_nets."""
    base = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "dclab"
    return Path(base) / "feature_nets"


def default_epochs(train_size: int, batch_size: int = 256) -> int:
    """About TARGET_STEPS optimiser steps (several epochs, so that forgetting events can happen)."""
    batches = math.ceil(train_size / batch_size)
    return max(1, min(MAX_EPOCHS, math.ceil(TARGET_STEPS / batches)))


class ForgettingCounter:
    """An `on_batch(batch_indices, logits)` callback counting forgetting events per example.

    An event is a correct -> wrong change of an example's prediction between two presentations;
    `learned` marks the examples classified correctly at least once.
    """

    def __init__(self, labels: Tensor) -> None:
        self.labels = labels.cpu()  # (N,)
        self.correct = torch.zeros_like(self.labels, dtype=torch.bool)  # last prediction correct?
        self.learned = torch.zeros_like(self.labels, dtype=torch.bool)  # ever correct?
        self.events = torch.zeros_like(self.labels)  # (N,) forgetting events so far

    def __call__(self, batch_indices: Tensor, logits: Tensor) -> None:
        idx = batch_indices.cpu()
        now = logits.detach().argmax(1).cpu() == self.labels[idx]  # (B,)
        self.events[idx] += (self.correct[idx] & ~now).long()  # correct -> wrong
        self.correct[idx] = now
        self.learned[idx] |= now


def _build(data: DatasetBundle, net: str, seed: int) -> nn.Module:
    return get_net(net, channels=data.channels, num_classes=data.num_classes,
                   image_size=data.image_size, seed=seed)


def train_on_real(
    data: DatasetBundle, *, net: str, epochs: int, seed: int, device: torch.device, on_batch=None
) -> nn.Module:
    """A freshly initialised `net` trained on data's training set (evaluation protocol optimiser)."""
    from dclab.eval.train import train_classifier

    p = EvalProtocol()
    model = _build(data, net, seed).to(device)
    return train_classifier(
        model, data.x_train.to(device), data.y_train.to(device), epochs=epochs, lr=p.lr,
        momentum=p.momentum, weight_decay=p.weight_decay, batch_size=p.batch_size,
        generator=make_generator(seed), on_batch=on_batch,
    )


@dataclass(frozen=True)
class RealTraining:
    """What one cached training run on the real data left: the net and the run's statistics."""

    net: nn.Module  # eval mode
    epochs: int
    test_accuracy: float
    seconds: float  # training time when it was first trained
    forgetting: Tensor  # (N,) forgetting events per training example
    learned: Tensor  # (N,) bool: classified correctly at least once during training

    def describe(self) -> str:
        return (f"feature net trained {self.epochs} epochs on the real training set: "
                f"{100 * self.test_accuracy:.1f} % test accuracy ({self.seconds:.0f} s to train)")


def real_training(
    data: DatasetBundle,
    *,
    net: str = "convnet",
    epochs: int | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    cache_dir: str | Path | None = None,
) -> RealTraining:
    """`net` trained on the real training set with its forgetting statistics (cached on disk and in memory)."""
    from dclab.eval.train import test_accuracy

    dev = resolve_device(device)
    epochs = epochs or default_epochs(int(data.x_train.shape[0]))
    n = int(data.x_train.shape[0])
    key = (data.name, net, epochs, seed, n)
    path = Path(cache_dir or default_cache_dir()) / f"{safe_name(data.name)}_{net}_e{epochs}_s{seed}_n{n}.pt"
    record = _MEMORY.get(key)
    if record is None and path.is_file():
        try:
            record = torch.load(path, weights_only=True, map_location="cpu")
            if not {"state", "test_accuracy", "forgetting"} <= set(record):
                record = None  # an older cache layout: retrain
        except Exception:  # noqa: BLE001 - a corrupt cache file (any load error) is retrained and overwritten
            record = None
    model = _build(data, net, seed)
    if record is not None:
        model.load_state_dict(record["state"])
        model = model.to(dev)
    else:
        counter = ForgettingCounter(data.y_train)
        start = time.perf_counter()
        model = train_on_real(data, net=net, epochs=epochs, seed=seed, device=dev, on_batch=counter)
        seconds = time.perf_counter() - start
        acc = test_accuracy(model, data.x_test.to(dev), data.y_test.to(dev))
        record = {
            "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            "test_accuracy": torch.tensor(acc), "seconds": torch.tensor(seconds),
            "forgetting": counter.events.clone(), "learned": counter.learned.clone(),
        }
        try:
            save_torch(path, record)
        except OSError:  # a read-only cache still leaves the memory cache
            pass
    _MEMORY[key] = record
    return RealTraining(model.eval(), epochs, float(record["test_accuracy"]), float(record["seconds"]),
                        record["forgetting"], record["learned"])


def trained_feature_net(data: DatasetBundle, **options: Any) -> nn.Module:
    """The net of `real_training(data, **options)`: trained on the real training set, eval mode."""
    return real_training(data, **options).net


@torch.no_grad()
def embed_all(net: nn.Module, x: Tensor, batch_size: int = 512) -> Tensor:
    """`net.embed` of every row of x (N, C, H, W) in batches -> (N, D) on the net's device."""
    was_training = net.training
    net.eval()
    dev = next(net.parameters()).device
    out = torch.cat([net.embed(x[i:i + batch_size].to(dev)) for i in range(0, x.shape[0], batch_size)])
    net.train(was_training)
    return out
