"""DD: the original Dataset Distillation (Wang, Zhu, Torralba, Efros 2018).

Learn the synthetic images x̃ AND one learning rate per unrolled step η_k so that a network
trained by T unrolled gradient steps on x̃, from a freshly drawn initialisation θ_0,

    θ_{k+1} = θ_k − η_k ∇_θ ℓ(x̃_{s(k)}, ỹ_{s(k)}; θ_k),   k = 0..T−1          (paper Eq. 2/5)

has low loss on real data, L = ℓ(x_real, y_real; θ_T); backprop goes through all T steps
(second order). Following the paper's code, the IPC images of each class are split into
`syn_steps` groups (group s = image columns s·ipc/steps … of every class), each step uses one
group, and the groups are cycled `syn_epochs` times: T = syn_steps · syn_epochs, with one
learned lr per step, log-parametrised (η_k = exp(ρ_k)) so it stays positive.

Evaluation: besides the standard protocol, `replay_accuracy` trains fresh nets exactly the way
the images were learned (the T steps with the learned lrs) and tests them.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dclab.config import ConfigError, setting
from dclab.data.bundle import DatasetBundle
from dclab.device import resolve_device
from dclab.methods._base import METHODS, CondensationMethod, MethodConfig
from dclab.methods._functional import FlatNet, detached_params, forward_with
from dclab.nets import get_net
from dclab.seeding import derive_seed, make_generator, seeded
from dclab.synthetic import SyntheticSet


@dataclass(frozen=True)
class DDConfig(MethodConfig):
    """DD settings. Authors' code (MNIST: LeNet, CIFAR-10: AlexCifarNet; Xavier init; images from
    noise): 10 steps x 3 epochs, lr init 0.02, Adam 0.01 (β1 0.5), real batch 1024 (≈100/class),
    400 epochs of the real loader (≈23k iterations on MNIST) with the lr halved every 40 epochs."""

    iterations: int = setting(5000, "outer iterations (image/lr updates)", min=1)
    net: str = setting("convnet", "network unrolled: 'auto' = the paper's (LeNet for 1-channel sets, AlexNet else)")
    norm: str = setting(
        "instancenorm", "normalisation layer of the network (where it has one)",
        choices=("none", "layernorm", "instancenorm", "groupnorm"),
    )
    width: int = setting(32, "ConvNet width (channels)", min=1)
    depth: int = setting(2, "ConvNet depth (blocks)", min=1)
    lr_img: float = setting(0.01, "Adam learning rate of the images and the log-lrs", min=0.0)
    batch_real: int = setting(100, "real images per class per iteration", min=1)
    syn_steps: int = setting(0, "distinct unrolled steps (image groups); 0 = IPC (one image per class per step)", min=0)
    syn_epochs: int = setting(3, "passes over the step groups; T = syn_steps x syn_epochs", min=1)
    lr_init: float = setting(0.02, "initial learned learning rate of every unrolled step", min=1e-8)
    fixed_init: bool = setting(False, "use one fixed network initialisation instead of a fresh one per iteration")
    xavier_init: bool = setting(False, "initialise every drawn network with Xavier-normal weights, zero biases (authors)")
    lr_decay_every: int = setting(0, "halve-style StepLR: multiply the Adam lr by lr_decay every this many iterations (0 = constant)", min=0)
    lr_decay: float = setting(0.5, "StepLR factor", min=0.0, max=1.0)

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        # 60000 / 1024 = 59 real batches per epoch: 400 epochs = 23400 iterations, decay every 40 epochs
        "paper": {"iterations": 23400, "net": "auto", "norm": "none", "width": 128, "init": "noise", "xavier_init": True,
                  "batch_real": 100, "syn_epochs": 3, "lr_init": 0.02, "lr_img": 0.01,
                  "lr_decay_every": 2340, "lr_decay": 0.5},
        "cpu": {"iterations": 200, "width": 16, "depth": 2, "batch_real": 32, "syn_epochs": 2,
                "lr_init": 0.1, "lr_img": 0.05},
        "classroom": {"iterations": 80, "width": 16, "depth": 2, "batch_real": 32, "syn_epochs": 2,
                      "lr_init": 0.1, "lr_img": 0.05, "init": "real"},
    }
    PRESET_SOURCES: ClassVar[Mapping[str, str]] = {
        "paper": "DD paper (Wang et al. 2018) §4 and the authors' README/`base_options` defaults: LeNet (MNIST) / "
                 "AlexCifarNet (CIFAR-10; dclab's AlexNet stands in), Xavier init, noise init, 10 steps x 3 epochs, "
                 "400 epochs (≈23k its on MNIST) with lr x0.5 every 40 epochs",
        "cpu": "dclab's CPU budget: ConvNet-2 width 16, 200 iterations",
        "classroom": "about a minute on a 2-core CPU (digits, IPC 10): gives up against paper 290x fewer "
                     "iterations (80 vs 23400), a ConvNet-2 of width 16 instead of LeNet/AlexNet, 2 instead "
                     "of 3 passes over the unrolled steps, 32 real images per class, real instead of noise init",
    }



def paper_net(net: str, channels: int) -> str:
    """'auto' -> the DD paper's network for the data: LeNet for 1-channel images, AlexNet otherwise."""
    if net != "auto":
        return net
    return "lenet" if channels == 1 else "alexnet"


def xavier_(net: nn.Module) -> nn.Module:
    """Xavier-normal weights (gain 1) and zero biases on every conv / linear layer, in place."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def step_groups(ipc: int, num_classes: int, syn_steps: int) -> list[Tensor]:
    """Class-major indices of the images each distinct step uses: group s holds columns
    [s·m, (s+1)·m) of every class, m = ipc / syn_steps. List of syn_steps index tensors (C·m,)."""
    m = ipc // syn_steps
    base = torch.arange(num_classes).repeat_interleave(m) * ipc  # (C·m,) class offsets
    cols = torch.arange(m).repeat(num_classes)
    return [base + s * m + cols for s in range(syn_steps)]


def unrolled_params(
    module: nn.Module,
    params: dict[str, Tensor],
    images: Tensor,
    labels: Tensor,
    groups: list[Tensor],
    lrs: Tensor,
    create_graph: bool = True,
) -> dict[str, Tensor]:
    """θ_T after T = len(lrs) SGD steps; step k uses group k mod len(groups).

    θ_{k+1} = θ_k − η_k ∇ CE(f(x̃_g; θ_k), ỹ_g). With create_graph the result stays
    differentiable w.r.t. images, lrs and θ_0 (DD's backprop-through-training).
    """
    names = list(params)
    theta = [params[n] if params[n].requires_grad else params[n].requires_grad_(True) for n in names]
    for k in range(lrs.shape[0]):
        g = groups[k % len(groups)]
        logits = forward_with(module, dict(zip(names, theta)), images[g])  # (C·m, classes)
        loss = F.cross_entropy(logits, labels[g])
        grads = torch.autograd.grad(loss, theta, create_graph=create_graph)
        theta = [t - lrs[k] * gr for t, gr in zip(theta, grads)]  # Eq. 2: θ ← θ − η_k ∇ℓ
        if not create_graph:
            theta = [t.detach().requires_grad_(True) for t in theta]
    return dict(zip(names, theta))


def unrolled_loss(
    module: nn.Module,
    params: dict[str, Tensor],
    images: Tensor,
    labels: Tensor,
    groups: list[Tensor],
    lrs: Tensor,
    x_real: Tensor,
    y_real: Tensor,
    batch: int | None = None,
) -> Tensor:
    """DD objective L(x̃, η; θ_0) = Σ CE(f(x_real; θ_T), y_real) / batch (differentiable).

    batch: the size of the whole real batch (default: these rows, i.e. the mean CE); a rank given
    some rows passes the whole size, so the ranks' losses add up to the mean."""
    theta_t = unrolled_params(module, params, images, labels, groups, lrs)
    logits = forward_with(module, theta_t, x_real)
    if batch is None or batch == x_real.shape[0]:
        return F.cross_entropy(logits, y_real)
    return F.cross_entropy(logits, y_real, reduction="sum") / batch


@METHODS.register("dd")
class DD(CondensationMethod):
    """Dataset Distillation: images + per-step lrs learned through unrolled training."""

    name = "dd"
    config_class = DDConfig
    description = "Dataset Distillation (Wang et al. 2018): backprop through unrolled SGD steps; learns lrs too"

    @classmethod
    def published_protocol(cls, dataset: str, ipc: int) -> tuple[dict[str, Any], str]:
        """DD's numbers come from its own nets (LeNet on MNIST, AlexCifarNet on CIFAR-10); trained here
        with the DC protocol (300 epochs, no aug). `replay_accuracy` gives DD's own replay number."""
        net = "lenet" if dataset.lower() in ("mnist", "fashion_mnist", "fashionmnist") else "alexnet"
        return ({"net": net, "epochs": 300, "augment": "none"},
                f"DD paper (Wang et al. 2018) Table 1 ({net}); trained with the DC protocol, 300 epochs, no aug "
                "(DD's own replay: dd.replay_accuracy)")

    def __init__(self, data: DatasetBundle, ipc: int, config: DDConfig | None = None, seed: int = 0,
                 device: str | torch.device = "auto") -> None:
        if config is not None and config.net == "auto":
            config = replace(config, net=paper_net(config.net, data.channels))
        super().__init__(data, ipc, config, seed, device)
        cfg: DDConfig = self.config  # type: ignore[assignment]
        self.syn_steps = cfg.syn_steps or ipc
        if ipc % self.syn_steps != 0:
            raise ConfigError(f"syn_steps ({self.syn_steps}) must divide the IPC ({ipc})")
        self.groups = [g.to(self.device) for g in step_groups(ipc, data.num_classes, self.syn_steps)]
        t = self.syn_steps * cfg.syn_epochs
        # ρ_k = log η_k, one per unrolled step (T,)
        self.log_lrs = torch.full((t,), math.log(cfg.lr_init), device=self.device, requires_grad=True)
        self.optimizer = torch.optim.Adam([self.images, self.log_lrs], lr=cfg.lr_img, betas=(0.5, 0.999))
        self.scheduler = (torch.optim.lr_scheduler.StepLR(self.optimizer, cfg.lr_decay_every, cfg.lr_decay)
                          if cfg.lr_decay_every else None)
        self.init_params: Tensor | None = None
        self._template = self.new_net()  # architecture for functional calls; its weights are θ_0 if fixed
        if cfg.fixed_init:
            if cfg.xavier_init:
                with seeded(derive_seed(self.generator)):
                    xavier_(self._template)
            self.init_params = FlatNet.wrap(self._template).flat_params()  # θ_0, (P,)

    @classmethod
    def rank_split(cls, config: DDConfig) -> str | None:
        """The loss is a mean over the real batch: ranks split its rows. The T unrolled steps on the
        synthetic set (and their backward) run on every rank, so this scales only the real-data
        forward and backward at θ_T."""
        return "batch"

    @property
    def lrs(self) -> Tensor:
        """Learned per-step learning rates η_k = exp(ρ_k), (T,)."""
        return self.log_lrs.detach().exp()

    def _initial_params(self) -> dict[str, Tensor]:
        if self.init_params is not None:
            return _unflatten_like(self._template, self.init_params)
        net = self.new_net()
        if self.config.xavier_init:  # type: ignore[attr-defined]
            with seeded(derive_seed(self.generator)):
                xavier_(net)
        return detached_params(net)

    def _step(self) -> tuple[float, tuple[float, ...], dict[str, float]]:
        cfg: DDConfig = self.config  # type: ignore[assignment]
        n_real = min(cfg.batch_real, self.data.min_class_count())
        x_real = self.data.sample_per_class(n_real, self.generator).reshape(-1, *self.data.shape)
        y_real = torch.arange(self.data.num_classes, device=self.device).repeat_interleave(n_real)
        params = self._initial_params()
        rows = self.batch_shard.rows(x_real.shape[0])  # torchrun: this rank's real rows (all in one process)
        self.optimizer.zero_grad(set_to_none=True)
        loss = unrolled_loss(self._template, params, self.images, self.labels, self.groups,
                             self.log_lrs.exp(), x_real[rows], y_real[rows], batch=x_real.shape[0])
        loss.backward()
        self.batch_shard.reduce_grads(self.images, self.log_lrs)  # the whole batch's gradient
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        lrs = self.lrs
        return float(self.batch_shard.total(loss)), (), {"lr_mean": float(lrs.mean()), "lr_min": float(lrs.min()), "lr_max": float(lrs.max())}

    def synthetic_set(self) -> SyntheticSet:
        base = super().synthetic_set()
        extras: dict[str, Any] = {"lrs": self.lrs.cpu().clone(), "syn_steps": self.syn_steps}
        if self.init_params is not None:
            extras["init_params"] = self.init_params.detach().cpu().clone()
        return replace(base, extras=extras)

    def _extra_state(self) -> dict[str, Any]:
        return {
            "log_lrs": self.log_lrs.detach().cpu().clone(),
            "init_params": None if self.init_params is None else self.init_params.detach().cpu().clone(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.log_lrs.copy_(state["log_lrs"].to(self.device))
        if state.get("init_params") is not None:
            self.init_params = state["init_params"].to(self.device)
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])


def _unflatten_like(module: nn.Module, flat: Tensor) -> dict[str, Tensor]:
    """Fresh leaf tensors shaped like module's parameters, filled from flat (P,)."""
    return {k: v.clone() for k, v in FlatNet.wrap(module).unflatten(flat).items()}


@dataclass(frozen=True)
class ReplayResult:
    """Test accuracies (0..1) of nets trained by replaying DD's learned steps, and what was replayed."""

    accs: tuple[float, ...]
    replay: str  # e.g. "20 learned DD steps (lrs 0.01..0.03)"

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accs)


def replay_accuracy(
    method_or_set: DD | SyntheticSet,
    data: DatasetBundle,
    models: int = 5,
    seed: int = 0,
    device: str | torch.device = "auto",
) -> ReplayResult:
    """Train `models` fresh nets by replaying DD's T learned steps on the synthetic set; test them.

    Uses the set's learned lrs (extras["lrs"]) and, with fixed_init, its stored θ_0.
    """
    syn = method_or_set.synthetic_set() if isinstance(method_or_set, DD) else method_or_set
    if "lrs" not in syn.extras:
        raise ValueError("this synthetic set has no learned learning rates (not made by DD)")
    dev = resolve_device(device)
    cfg = DDConfig(**{k: v for k, v in syn.config.items() if k in DDConfig.__dataclass_fields__})
    lrs = syn.extras["lrs"].to(dev)
    images, labels = syn.images.to(dev), syn.labels.to(dev)
    groups = [g.to(dev) for g in step_groups(syn.ipc, syn.num_classes, int(syn.extras["syn_steps"]))]
    gen = make_generator(seed)
    x_test, y_test = data.x_test.to(dev), data.y_test.to(dev)
    accs = []
    for _ in range(models):
        net = get_net(cfg.net, channels=data.channels, num_classes=data.num_classes,
                      image_size=data.image_size, seed=int(torch.randint(0, 2**62, (1,), generator=gen)),
                      **cfg.net_options()).to(dev)
        if cfg.xavier_init:
            with seeded(int(torch.randint(0, 2**62, (1,), generator=gen))):
                xavier_(net)
        fixed = syn.extras.get("init_params")
        params = _unflatten_like(net, fixed.to(dev)) if fixed is not None else detached_params(net)
        theta = unrolled_params(net, params, images, labels, groups, lrs, create_graph=False)
        with torch.no_grad():
            correct = 0
            for i in range(0, x_test.shape[0], 1000):
                pred = forward_with(net, theta, x_test[i:i + 1000]).argmax(1)
                correct += int((pred == y_test[i:i + 1000]).sum())
        accs.append(correct / x_test.shape[0])
    return ReplayResult(accs=tuple(accs),
                        replay=f"{lrs.shape[0]} learned DD steps (lrs {float(lrs.min()):.3g}..{float(lrs.max()):.3g})")
