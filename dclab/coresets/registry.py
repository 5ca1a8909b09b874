"""Registry of coreset selectors and `select_coreset`, which turns a selection into a `SyntheticSet`.

A selector is `fn(data, ipc, seed, device, progress) -> Tensor (num_classes, ipc)` of indices
into `data.x_train`, row c holding the chosen images of class c in selection order.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from dclab.data.bundle import DatasetBundle
from dclab.device import resolve_device
from dclab.progress import Progress
from dclab.registry import Registry
from dclab.synthetic import SyntheticSet, class_major_labels

Selector = Callable[[DatasetBundle, int, int, torch.device, Progress | None], Tensor]
CORESETS: Registry[Selector] = Registry("coreset")


def list_coresets() -> list[str]:
    return CORESETS.names()


def coreset_published_protocol(name: str, dataset: str, ipc: int) -> tuple[dict[str, Any], str]:
    """(EvalProtocol overrides, source) of the table the coresets appear in: DC paper Table 1, whose
    baselines were trained like DC's sets (authors' utils.py: MNIST with crop_scale_rotate, 1000 epochs)."""
    CORESETS.get(name)  # unknown name: one-line error
    if dataset.lower() == "mnist":
        return ({"net": "convnet", "epochs": 1000, "augment": "crop_scale_rotate"},
                "DC paper Table 1 (coreset rows); authors' get_daparam (MNIST: crop_scale_rotate, 1000 epochs)")
    return ({"net": "convnet", "epochs": 300, "augment": "none"},
            "DC paper Table 1 (coreset rows): ConvNet, 300 epochs, no augmentation")


def select_coreset(
    name: str,
    data: DatasetBundle,
    ipc: int,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: Progress | None = None,
) -> SyntheticSet:
    """Pick `ipc` real training images per class with coreset `name`; class-major, like a condensed set.

    Raises UnknownNameError (unknown name) or ValueError (IPC out of range), one line each.
    """
    selector = CORESETS.get(name)
    data.check_ipc(ipc)
    dev = resolve_device(device)
    idx = selector(data, ipc, seed, dev, progress).cpu()  # (classes, ipc)
    if idx.shape != (data.num_classes, ipc):
        raise RuntimeError(f"coreset {name!r} returned indices of shape {tuple(idx.shape)}")
    flat = idx.reshape(-1)
    return SyntheticSet(
        images=data.x_train[flat].detach().cpu().clone(),
        labels=class_major_labels(data.num_classes, ipc),
        dataset=data.name,
        class_names=data.class_names,
        mean=data.mean,
        std=data.std,
        method=name,
        config={"coreset": name, "ipc": ipc},
        seed=seed,
        extras={"indices": flat.clone()},
    )
