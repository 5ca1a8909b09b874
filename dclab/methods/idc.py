"""IDC: Dataset Condensation via Efficient Synthetic-Data Parameterization (Kim et al., ICML 2022).

Stored images S (N per class) are decoded by multi-formation (`dclab.formation`, factor f = 2)
into N·f² training images D(S). One iteration (an "outer iteration" of the paper) draws a fresh
network θ and then, `inner_loop` times:
  1. for each class c: a real batch B_c, the decoded images D(S_c), one siamese DSA draw on both,
       L_c = Σ_conv layers d(∇θ CE(B_c), ∇θ CE(D(S_c)))     d = squared L2 ('mse') or L1 ('l1')
     and one SGD step on S for L_c (the reference code steps once per class);
  2. the network itself trains on `n_data` random real images (SGD lr 0.01, momentum 0.9, wd 5e-4,
     DSA), so matching happens along a real-data training trajectory.
Only convolution weights are matched (the reference code skips biases, norms and the classifier).

`matching_step(subset, frozen, probe)` is the hook MDC uses: the loss of the decoded prefix
D(S_c[:subset]) is added to every class loss, the first `frozen` stored images of each class
get no gradient, and `probe(net, real, syn)` sees every matched (augmented) batch.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dclab.augment.dsa import draw_siamese, dsa_augment, resolve_dsa_strategy
from dclab.config import setting
from dclab.formation import decode_formation, mosaic
from dclab.methods._base import METHODS, CondensationMethod, MethodConfig
from dclab.methods._matching import SubsetProbe, freeze_prefix_
from dclab.seeding import make_generator
from dclab.synthetic import SyntheticSet

# Kim et al. 2022, Table 2 / Table 9 (ConvNet-3, factor 2): mean test accuracy (%) by IPC.
PUBLISHED = {
    "cifar10": {1: 50.0, 10: 67.5, 50: 74.5},
    "svhn": {1: 68.5, 10: 87.5, 50: 90.1},
    "mnist": {1: 94.2, 10: 98.4, 50: 99.1},
    "fashion_mnist": {1: 81.0, 10: 86.0, 50: 86.2},
}


@dataclass(frozen=True)
class IDCConfig(MethodConfig):
    iterations: int = setting(2000, "outer iterations (each: a fresh net, inner_loop rounds of per-class updates)", min=1)
    factor: int = setting(2, "multi-formation factor f: each stored image decodes into f² images (1 = IDC-I)", min=1)
    inner_loop: int = setting(100, "rounds per outer iteration: one image update per class, then net training", min=1)
    metric: str = setting("mse", "gradient distance: squared L2 ('mse', CIFAR/SVHN) or L1 ('l1', MNIST)",
                          choices=("mse", "l1"))
    lr_img: float = setting(5e-3, "learning rate of the stored images (SGD); reference: 5e-3 mse, 1e-4 l1", min=0.0)
    batch_real: int = setting(64, "real images of a class per image update", min=1)
    width: int = setting(128, "channels of the ConvNet", min=1)
    lr_net: float = setting(0.01, "SGD lr of the network trained on real data (momentum 0.9, wd 5e-4)", min=0.0)
    n_data: int = setting(500, "real images the network trains on after each round (reference: 500; CIFAR 2000)", min=0)
    batch_net: int = setting(64, "batch size of the network's real-data training", min=1)
    dsa_strategy: str = setting("auto", "DSA ops for matching and net training ('auto' = the data set's published)")
    mix_init: bool = setting(True, "with init 'real': tile f² shrunk real images into each stored image "
                             "(the reference code's 'mix' init for factor > 1)")

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        # snu-mllab/Efficient-Dataset-Condensation README + misc/reproduce.py (CIFAR-10, --reproduce -f 2)
        "paper": {"iterations": 2000, "factor": 2, "inner_loop": 100, "metric": "mse", "lr_img": 5e-3,
                  "batch_real": 64, "width": 128, "n_data": 2000, "norm": "instancenorm", "mix_init": True},
        # same, MNIST (reproduce.py: metric l1, lr_img 1e-4, n_data 500)
        "paper_mnist": {"iterations": 2000, "factor": 2, "inner_loop": 100, "metric": "l1", "lr_img": 1e-4,
                        "batch_real": 64, "width": 128, "n_data": 500, "norm": "instancenorm", "mix_init": True},
        # dclab's CPU-sized run (not a published setting)
        "cpu": {"iterations": 20, "factor": 2, "inner_loop": 10, "metric": "mse", "lr_img": 5e-3,
                "batch_real": 32, "width": 32, "n_data": 256, "norm": "instancenorm", "mix_init": True},
        "classroom": {"iterations": 15, "factor": 2, "inner_loop": 5, "metric": "mse", "lr_img": 5e-3,
                      "batch_real": 32, "width": 32, "n_data": 128, "norm": "instancenorm", "mix_init": True},
    }
    PRESET_SOURCES: ClassVar[Mapping[str, str]] = {
        "paper": "Kim et al. 2022 (IDC), snu-mllab/Efficient-Dataset-Condensation README command "
                 "`condense.py --reproduce -d cifar10 -f 2 --ipc 10` (misc/reproduce.py: 2000 iterations, "
                 "metric mse, lr_img 5e-3, n_data 2000)",
        "paper_mnist": "same repository, MNIST (`condense.py --reproduce -d mnist -f 2 --ipc 10`; "
                       "misc/reproduce.py: metric l1, lr_img 1e-4, n_data 500)",
        "cpu": "dclab's CPU budget (not a published setting): 20 iterations of 10 rounds, ConvNet width 32",
        "classroom": "about a minute on a 2-core CPU (digits, IPC 10): gives up against paper 130x fewer "
                     "iterations (15 vs 2000), 5 instead of 100 rounds per iteration, a network trained on "
                     "128 instead of 2000 real images per round, ConvNet width 32 instead of 128",
    }


def conv_grad_distance(g_real: list[Tensor], g_syn: list[Tensor], metric: str) -> Tensor:
    """Σ over conv weights (≥ 3-D gradients) of ‖g_real − g_syn‖² ('mse') or ‖·‖₁ ('l1')."""
    total = g_syn[0].new_zeros(())
    for gr, gs in zip(g_real, g_syn, strict=True):
        if gr.dim() < 3:  # biases, norms, classifier: not matched (reference code defaults)
            continue
        diff = gr - gs
        total = total + (diff.pow(2).sum() if metric == "mse" else diff.abs().sum())
    return total


def class_gradient(net: nn.Module, x: Tensor, c: int, create_graph: bool) -> list[Tensor]:
    """∇θ CE(net(x), c) for images x (n, C, H, W) all of class c."""
    y = torch.full((x.shape[0],), c, device=x.device)
    return list(torch.autograd.grad(F.cross_entropy(net(x), y), list(net.parameters()), create_graph=create_graph))


@METHODS.register("idc")
class IDC(CondensationMethod):
    """Gradient matching of multi-formation images along a real-data training trajectory."""

    name = "idc"
    config_class = IDCConfig
    description = "IDC (Kim et al. 2022): multi-formation images, gradient matching on a net trained on real data"
    config: IDCConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = self.config
        self.units = cfg.factor * cfg.factor  # decoded images per stored image
        self.dsa_strategy = resolve_dsa_strategy(cfg.dsa_strategy, self.data.name)
        self.real_batch = min(cfg.batch_real, self.data.min_class_count())
        if cfg.init == "real" and cfg.mix_init:  # f² real images per stored image, own generator as init_images
            n = self.ipc
            real = self.data.sample_per_class(n * self.units, make_generator(self.seed))  # (k, n·f², C, H, W)
            with torch.no_grad():
                self.images.copy_(mosaic(real.flatten(0, 1), cfg.factor).to(self.device))  # (k·n, C, H, W)
        else:
            decode_formation(self.images.detach(), cfg.factor)  # checks the size divides by f

    @classmethod
    def published_protocol(cls, dataset: str, ipc: int) -> tuple[dict[str, Any], str]:
        """IDC's evaluation: DSA-augmented training of the decoded set for the reference code's epochs
        by decoded images per class (its mixup/CutMix is not part of dclab's protocol)."""
        decoded = ipc * 4  # factor 2
        epochs = 2000 if decoded <= 10 else 1500 if decoded <= 50 else 1000 if decoded <= 200 else 500
        return ({"augment": "dsa", "epochs": epochs},
                "Kim et al. 2022, IDC; snu-mllab/Efficient-Dataset-Condensation argument.py ipc_epoch")

    def decoded(self, images: Tensor) -> Tensor:
        """(k, n, C, H, W) stored -> (k, n·f², C, H, W) decoded (image-major)."""
        k, n = images.shape[:2]
        return decode_formation(images.flatten(0, 1), self.config.factor).view(k, n * self.units, *images.shape[2:])

    def synthetic_set(self) -> SyntheticSet:
        s = super().synthetic_set()
        return replace(s, extras={**s.extras, "formation_factor": self.config.factor})

    # ---- one outer iteration -------------------------------------------------------
    def _step(self) -> tuple[float, tuple[float, ...], dict[str, float]]:
        return self.matching_step()

    def matching_step(self, subset: int | None = None, frozen: int = 0,
                      probe: SubsetProbe | None = None) -> tuple[float, tuple[float, ...], dict[str, float]]:
        """One outer iteration; `subset` adds the loss of D(S_c[:subset]), `frozen` stored images per
        class get no gradient, `probe(net, real, syn)` sees each augmented (1, ·) class batch."""
        cfg, k, n = self.config, self.data.num_classes, self.ipc
        net = self.new_net()
        net.train()
        net_opt = torch.optim.SGD(net.parameters(), lr=cfg.lr_net, momentum=0.9, weight_decay=5e-4)
        class_total = torch.zeros(k)
        for _ in range(cfg.inner_loop):
            for c in range(k):
                real = self.data.sample_class(c, self.real_batch, self.generator).unsqueeze(0)  # (1, B, C, H, W)
                syn = self.decoded(self.images.view(k, n, *self.data.shape)[c : c + 1])  # (1, n·f², C, H, W)
                real, syn = draw_siamese(self.dsa_strategy, real, syn, self.generator)
                if probe is not None:
                    probe(net, real, syn)
                g_real = [g.detach() for g in class_gradient(net, real[0], c, create_graph=False)]
                loss = conv_grad_distance(g_real, class_gradient(net, syn[0], c, create_graph=True), cfg.metric)
                if subset is not None:
                    g_sub = class_gradient(net, syn[0, : subset * self.units], c, create_graph=True)
                    loss = loss + conv_grad_distance(g_real, g_sub, cfg.metric)
                self.optimizer.zero_grad(set_to_none=False)
                loss.backward()
                freeze_prefix_(self.images, k, frozen)
                self.optimizer.step()
                class_total[c] += loss.item()
            self._train_net(net, net_opt)
        class_mean = class_total / cfg.inner_loop
        return float(class_mean.sum()), tuple(class_mean.tolist()), {}

    def _train_net(self, net: nn.Module, opt: torch.optim.Optimizer) -> None:
        """One pass of SGD over `n_data` random real images (DSA, independent draws per image)."""
        if self.config.n_data == 0:
            return
        idx = torch.randperm(self.data.x_train.shape[0], generator=self.generator)[: self.config.n_data]
        for part in idx.split(self.config.batch_net):
            part = part.to(self.data.x_train.device)
            x = dsa_augment(self.data.x_train[part], self.dsa_strategy, self.generator)
            loss = F.cross_entropy(net(x), self.data.y_train[part])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
