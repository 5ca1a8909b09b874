"""The evaluation protocol as a first-class object: every accuracy is reported with it."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from dclab.config import BaseConfig, setting
from dclab.nets.layers import NORMS

AUGMENTS = ("none", "dsa", "crop_scale_rotate", "crop_noise")
LR_SOURCES = ("fixed", "learned")
PUBLISHED = "published"  # the preset that stands for "the protocol of the method's own paper"


@dataclass(frozen=True)
class EvalProtocol(BaseConfig):
    """Train K fresh networks on the synthetic set, test each on the real test set.

    Reference (DC/DSA/DM code): SGD momentum 0.9, wd 5e-4, lr 0.01, batch 256, lr x0.1 once at
    half the epochs; 300 epochs without augmentation, 1000 with DSA augmentation (DSA/DM/MTT), or
    with DC's augmentation (DC on MNIST: crop_scale_rotate; any set on ConvNetBN: crop_noise).
    The preset `published` is a placeholder resolved per method (`dclab.eval.published`).
    """

    net: str = setting("convnet", "network trained on the synthetic set")
    norm: str = setting(
        "instancenorm", "normalisation layer",
        choices=NORMS,
    )
    models: int = setting(5, "number K of networks trained (mean ± std over them)", min=1)
    epochs: int = setting(300, "training epochs per network", min=1)
    lr: float = setting(0.01, "SGD learning rate", min=0.0)
    momentum: float = setting(0.9, "SGD momentum", min=0.0, max=1.0)
    weight_decay: float = setting(5e-4, "SGD weight decay", min=0.0)
    batch_size: int = setting(256, "training batch size", min=1)
    augment: str = setting(
        "none", "augmentation while training: DSA, or DC's crop_scale_rotate (MNIST) / crop_noise (ConvNetBN)",
        choices=AUGMENTS)
    dsa_strategy: str = setting(
        "auto", "DSA ops used when augment=dsa ('auto' = the published strategy for the data set)")
    seed: int = setting(0, "seed of network initialisation and batch order")
    lr_source: str = setting(
        "fixed", "fixed = train with `lr`; learned = with the step size the method learned "
        "(the set's extras['syn_lr'], e.g. MTT)", choices=LR_SOURCES)
    source: str = setting("", "where this protocol comes from (paper table / authors' code), and how it was scaled")

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        # resolved per method by dclab.eval.published.resolve_protocol (the method's own protocol)
        PUBLISHED: {"models": 20},
        "paper": {"models": 20, "epochs": 300, "augment": "none"},
        "paper_dsa": {"models": 20, "epochs": 1000, "augment": "dsa"},
        "fast": {"models": 5, "epochs": 100, "augment": "none"},
        "quick": {"models": 2, "epochs": 30, "augment": "none"},
    }

    def describe(self, threads: int | None = None) -> str:
        """One line stating the protocol, shown beside every number (threads: CPU threads used)."""
        aug = {"none": "no aug", "dsa": "DSA aug"}.get(self.augment, f"DC aug {self.augment}")
        lr = "learned lr" if self.lr_source == "learned" else f"lr {self.lr}"
        text = (
            f"{self.net}/{self.norm}, K={self.models}, {self.epochs} ep, {lr} "
            f"(x0.1 at {self.epochs // 2}), batch {self.batch_size}, {aug}"
        ) + (f", {threads} CPU threads" if threads else "")
        return f"{text} [{self.source}]" if self.source else text
