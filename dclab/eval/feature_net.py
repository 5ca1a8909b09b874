"""A network trained on the real training set, for feature-space coresets (herding, k-center) and t-SNE.

Trained once with the evaluation protocol's optimiser, then cached: in memory, and on disk as a
state_dict under `<cache_dir>/<dataset>_<net>_e<epochs>_s<seed>_n<train size>.pt`.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

import torch
from torch import Tensor, nn

from dclab.data.bundle import DatasetBundle
from dclab.device import resolve_device
from dclab.eval.protocol import EvalProtocol
from dclab.nets import get_net
from dclab.runs.atomic import save_torch
from dclab.seeding import make_generator

CACHE_ENV = "DCLAB_CACHE"
TARGET_STEPS = 60  # SGD steps the default epoch count aims at (digits: 10 epochs, ~92% test accuracy)
MAX_EPOCHS = 20

_MEMORY: dict[tuple, dict[str, Tensor]] = {}


def default_cache_dir() -> Path:
    """$DCLAB_CACHE/feature_nets, else ~/.cache/dclab/feature_nets."""
    base = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "dclab"
    return Path(base) / "feature_nets"


def default_epochs(train_size: int, batch_size: int = 256) -> int:
    """About TARGET_STEPS optimiser steps: 10 epochs on digits, 1 on MNIST/CIFAR-10."""
    batches = math.ceil(train_size / batch_size)
    return max(1, min(MAX_EPOCHS, math.ceil(TARGET_STEPS / batches)))


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


def trained_feature_net(
    data: DatasetBundle,
    *,
    net: str = "convnet",
    epochs: int | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    cache_dir: str | Path | None = None,
) -> nn.Module:
    """`net` trained on the real training set (cached on disk and in memory), in eval mode on `device`."""
    dev = resolve_device(device)
    epochs = epochs or default_epochs(int(data.x_train.shape[0]))
    n = int(data.x_train.shape[0])
    key = (data.name, net, epochs, seed, n)
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", data.name)
    path = Path(cache_dir or default_cache_dir()) / f"{safe_name}_{net}_e{epochs}_s{seed}_n{n}.pt"
    state = _MEMORY.get(key)
    if state is None and path.is_file():
        try:
            state = torch.load(path, weights_only=True, map_location="cpu")
        except Exception:  # noqa: BLE001 - a corrupt cache file (any load error) is retrained and overwritten
            state = None
    model = _build(data, net, seed)
    if state is not None:
        model.load_state_dict(state)
        model = model.to(dev)
    else:
        model = train_on_real(data, net=net, epochs=epochs, seed=seed, device=dev)
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        try:
            save_torch(path, state)
        except OSError:  # a read-only cache still leaves the memory cache
            pass
    _MEMORY[key] = state
    return model.eval()


@torch.no_grad()
def embed_all(net: nn.Module, x: Tensor, batch_size: int = 512) -> Tensor:
    """`net.embed` of every row of x (N, C, H, W) in batches -> (N, D) on the net's device."""
    was_training = net.training
    net.eval()
    dev = next(net.parameters()).device
    out = torch.cat([net.embed(x[i:i + batch_size].to(dev)) for i in range(0, x.shape[0], batch_size)])
    net.train(was_training)
    return out
