"""KIP: Kernel Inducing Points (Nguyen, Chen, Lee 2021, "Dataset Meta-Learning from Kernel Ridge-Regression").

The synthetic set (x_s, y_s) is a KRR support set. For a real batch (x_t, y_t):

    ŷ_t = K(x_t, x_s) (K(x_s, x_s) + λ̃ I)^-1 y_s,    λ̃ = λ · tr(K(x_s, x_s)) / n
    L   = ½ ‖ŷ_t − y_t‖² / |t|                       (MSE to centred one-hot labels)

with K the closed-form NTK or NNGP of an FC ReLU network (dclab.methods._kernels). Images (and,
with `learn_labels`, the support labels) are updated with Adam. Labels are centred one-hot
(1 − 1/C on the class, −1/C elsewhere), as KIP uses; `SyntheticSet.soft_labels` holds the
learned labels shifted back by +1/C (rows then sum to ≈ 1).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from dclab.config import setting
from dclab.data.bundle import DatasetBundle
from dclab.device import resolve_device
from dclab.methods._base import METHODS, CondensationMethod, MethodConfig
from dclab.methods._kernels import KERNELS, fc_relu_kernel, krr_predict, krr_solve
from dclab.synthetic import SyntheticSet


@dataclass(frozen=True)
class KIPConfig(MethodConfig):
    """KIP settings. Paper (Nguyen et al. 2021, Appendix A): FC NTK, σ_w² 2, σ_b² 1e-4, λ = 1e-6
    (× tr K / n), Adam lr 0.01 (0.04 on CIFAR-10), labels learned, target batches of a few thousand."""

    iterations: int = setting(1000, "outer iterations (Adam steps on the support set)", min=1)
    kernel: str = setting("ntk", "infinite-width kernel of an FC ReLU net", choices=KERNELS)
    kernel_depth: int = setting(3, "hidden layers L of the FC network whose kernel is used", min=0)
    w_var: float = setting(2.0, "weight variance σ_w² of the kernel's network", min=1e-6)
    b_var: float = setting(1e-4, "bias variance σ_b² of the kernel's network (paper 1e-4)", min=0.0)
    reg: float = setting(1e-6, "ridge λ, scaled by tr(K_ss)/n", min=0.0)
    learn_labels: bool = setting(True, "also learn the support labels")
    lr_img: float | None = setting(
        None, "Adam learning rate of the images (and labels); None = by data set as the paper: "
        "0.04 on CIFAR-10, 0.01 otherwise")
    batch_real: int = setting(500, "real target images per class per iteration", min=1)

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "paper": {"iterations": 1000, "kernel": "ntk", "kernel_depth": 3, "reg": 1e-6, "lr_img": None,
                  "b_var": 1e-4, "batch_real": 500, "learn_labels": True},
        "cpu": {"iterations": 200, "kernel": "ntk", "kernel_depth": 3, "reg": 1e-6, "lr_img": None,
                "b_var": 1e-4, "batch_real": 50, "learn_labels": True},
        "classroom": {"iterations": 300, "kernel": "ntk", "kernel_depth": 3, "reg": 1e-6, "lr_img": None,
                      "b_var": 1e-4, "batch_real": 50, "learn_labels": True},
    }
    PRESET_SOURCES: ClassVar[Mapping[str, str]] = {
        "paper": "KIP paper (Nguyen, Chen & Lee, ICLR 2021) Appendix A: FC3 NTK, σ_b² 1e-4, λ 1e-6, "
                 "Adam 0.01 (0.04 CIFAR-10), labels learned",
        "cpu": "dclab's CPU budget: the paper's kernel, 200 iterations, 50 targets per class",
        "classroom": "well under a minute on a 2-core CPU (digits, IPC 10): the paper's kernel, but 300 "
                     "instead of 1000 iterations and 50 instead of 500 real targets per class",
    }

    def kernel_fn(self, x1: Tensor, x2: Tensor | None = None) -> Tensor:
        """This config's kernel between x1 and x2 (Gram of x1 when x2 is None)."""
        return fc_relu_kernel(x1, x2, depth=self.kernel_depth, kind=self.kernel, w_var=self.w_var, b_var=self.b_var)


def centred_one_hot(labels: Tensor, num_classes: int) -> Tensor:
    """One-hot minus 1/C: (N,) -> (N, C), rows sum to 0."""
    return F.one_hot(labels, num_classes).float() - 1.0 / num_classes


def kip_loss(config: KIPConfig, x_s: Tensor, y_s: Tensor, x_t: Tensor, y_t: Tensor,
             targets: int | None = None) -> Tensor:
    """½ Σ_t ‖K_ts (K_ss + λ̃I)^-1 y_s − y_t‖² / targets (differentiable in x_s, y_s).

    targets: the size of the whole target batch (default: these targets, i.e. the mean); a rank
    given some rows of the batch passes the whole size, so the ranks' losses add up to the mean."""
    k_ss = config.kernel_fn(x_s)  # (n, n)
    k_ts = config.kernel_fn(x_t, x_s)  # (T, n)
    pred = krr_predict(k_ts, k_ss, y_s, config.reg)  # (T, classes)
    per_target = 0.5 * (pred - y_t).pow(2).sum(1)  # (T,)
    return per_target.mean() if targets in (None, x_t.shape[0]) else per_target.sum() / targets


LR_DEFAULT, LR_CIFAR10 = 0.01, 0.04  # paper's Adam lr


@METHODS.register("kip")
class KIP(CondensationMethod):
    """Kernel Inducing Points: learn a support set for kernel ridge regression."""

    name = "kip"
    config_class = KIPConfig
    description = "Kernel Inducing Points (Nguyen et al. 2021): KRR with an FC NTK/NNGP kernel; learns labels"

    def __init__(self, data: DatasetBundle, ipc: int, config: KIPConfig | None = None, seed: int = 0,
                 device: str | torch.device = "auto") -> None:
        super().__init__(data, ipc, config, seed, device)
        cfg: KIPConfig = self.config  # type: ignore[assignment]
        self.support_labels = centred_one_hot(self.labels, data.num_classes).requires_grad_(cfg.learn_labels)
        params = [self.images, self.support_labels] if cfg.learn_labels else [self.images]
        self.optimizer = torch.optim.Adam(params, lr=self.image_lr())

    @classmethod
    def published_protocol(cls, dataset: str, ipc: int) -> tuple[dict[str, Any], str]:
        """KIP's headline numbers are KRR accuracies (`krr_accuracy`); its sets transferred to a
        finite net are trained here with the DC protocol; learned labels with a bounded loss."""
        return ({"net": "convnet", "epochs": 300, "augment": "none"},
                "KIP paper (Nguyen et al., ICLR 2021) Table 1 reports KRR accuracy (dclab: kip.krr_accuracy); "
                "finite-net transfer here: ConvNet, 300 epochs, no aug, labels clipped at 0 and renormalised")

    @classmethod
    def rank_split(cls, config: KIPConfig) -> str | None:
        """The loss is a mean over the target batch: ranks split the targets (K_ts, the bulk of the
        work when targets outnumber the support); K_ss and its solve run on every rank."""
        return "batch"

    def image_lr(self) -> float:
        if self.config.lr_img is not None:
            return float(self.config.lr_img)
        return LR_CIFAR10 if self.data.name.lower() == "cifar10" else LR_DEFAULT

    def _step(self) -> tuple[float, tuple[float, ...], dict[str, float]]:
        cfg: KIPConfig = self.config  # type: ignore[assignment]
        n_real = min(cfg.batch_real, self.data.min_class_count())
        x_t = self.data.sample_per_class(n_real, self.generator).reshape(-1, *self.data.shape)
        y_t = centred_one_hot(
            torch.arange(self.data.num_classes, device=self.device).repeat_interleave(n_real), self.data.num_classes
        )
        rows = self.batch_shard.rows(x_t.shape[0])  # torchrun: this rank's targets (all in one process)
        self.optimizer.zero_grad(set_to_none=True)
        loss = kip_loss(cfg, self.images, self.support_labels, x_t[rows], y_t[rows], targets=x_t.shape[0])
        loss.backward()
        self.batch_shard.reduce_grads(self.images, self.support_labels)  # the whole batch's gradient
        self.optimizer.step()
        return float(self.batch_shard.total(loss)), (), {}

    def synthetic_set(self) -> SyntheticSet:
        soft = self.support_labels.detach().cpu().clone() + 1.0 / self.data.num_classes
        return replace(super().synthetic_set(), soft_labels=soft, extras={"label_offset": -1.0 / self.data.num_classes})

    def _extra_state(self) -> dict[str, Any]:
        return {"support_labels": self.support_labels.detach().cpu().clone()}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.support_labels.copy_(state["support_labels"].to(self.device))


def krr_accuracy(
    synthetic: SyntheticSet,
    data: DatasetBundle,
    config: KIPConfig | None = None,
    batch_size: int = 1000,
    device: str | torch.device = "auto",
) -> float:
    """Test accuracy (0..1) of KRR with the synthetic set as support, on the whole real test set.

    The kernel comes from `config` (default: the set's own config when it was made by KIP, else
    KIPConfig defaults); labels are the set's soft labels when present, else one-hot. The
    support solve is done once, the test set is processed in batches of `batch_size`.
    """
    if config is None:
        fields = KIPConfig.__dataclass_fields__
        own = {k: v for k, v in synthetic.config.items() if k in fields} if synthetic.method == "kip" else {}
        config = KIPConfig(**own)
    dev = resolve_device(device)
    x_s = synthetic.images.to(dev)
    y_s = (synthetic.soft_labels if synthetic.soft_labels is not None
           else F.one_hot(synthetic.labels, synthetic.num_classes).float()).to(dev)
    y_s = y_s - 1.0 / synthetic.num_classes  # centring does not change argmax; keeps KIP's scale
    with torch.no_grad():
        alpha = krr_solve(config.kernel_fn(x_s), y_s, config.reg)  # (n, classes)
        correct = 0
        for i in range(0, data.x_test.shape[0], batch_size):
            x_t = data.x_test[i:i + batch_size].to(dev)
            pred = config.kernel_fn(x_t, x_s) @ alpha  # (B, classes)
            correct += int((pred.argmax(1) == data.y_test[i:i + batch_size].to(dev)).sum())
    return correct / data.x_test.shape[0]
