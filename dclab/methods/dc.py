"""DC: dataset condensation with gradient matching (Zhao, Mopuri & Bilen, ICLR 2021).

One iteration = a fresh network, then `outer_loop` times:
  1. per class c: match the gradient of the loss on a real batch of c and on the synthetic images
     of c, D = Σ_layers Σ_out (1 − cos(∇θ L(S_c), ∇θ L(B_c))); one SGD step on the images for
     the sum over classes (the synthetic gradient keeps its graph: second-order);
  2. except after the last outer step, train the network `inner_loop` epochs on the synthetic set.

Batched path (`batched=True`): the per-class gradients of all classes come from ONE vmapped call
(`vmap(grad(loss))` over classes via `torch.func.functional_call`), for both the real batch and
the synthetic images; the synthetic gradients stay differentiable w.r.t. the images.
`batched=False` is the plain per-class loop of the reference code; tests prove both agree.
`batched=None` follows the device rule (`dclab.device.prefers_batched`), except that on a CPU
small ConvNet matching nets (width <= `SMALL_WIDTH`) take the batched path: there one vmapped call
costs less than ten per-class calls, whose cost is dispatch, while for wide nets the loop is as
fast or faster (`python -m benchmarks.condense_speed --width 32` / `--width 128`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from dclab.config import ConfigError, setting
from dclab.methods._base import METHODS, CondensationMethod, MethodConfig
from dclab.methods._matching import SubsetProbe, freeze_prefix_, gradient_distance
from dclab.nets.layers import batchnorm_layers, has_batchnorm

# IPC -> (outer_loop, inner_loop) of the reference code.
LOOPS_BY_IPC: dict[int, tuple[int, int]] = {1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15), 50: (50, 10)}


def loops_for_ipc(ipc: int) -> tuple[int, int]:
    """(outer, inner) for an IPC: the published entry for the smallest tabulated IPC >= ipc
    (IPC above 50 uses the IPC-50 entry)."""
    for key in sorted(LOOPS_BY_IPC):
        if ipc <= key:
            return LOOPS_BY_IPC[key]
    return LOOPS_BY_IPC[max(LOOPS_BY_IPC)]


SMALL_WIDTH = 32  # on CPU, matching nets up to this width take the batched (vmapped) path by default

CLASSROOM_NOTE = (
    "about a minute on a 2-core CPU (digits, IPC 10): gives up against paper 20x fewer iterations (50 vs "
    "1000), 5 outer x 5 inner loops instead of 10 x 50 at IPC 10 (fewer, less-trained networks per "
    "iteration), 32 instead of 256 real images per class, ConvNet width 32 instead of 128, real init")


@dataclass(frozen=True)
class DCConfig(MethodConfig):
    iterations: int = setting(1000, "number of condensation iterations (each: a fresh net, outer x inner loops)", min=1)
    lr_img: float = setting(0.1, "learning rate of the synthetic images (SGD)", min=0.0)
    batch_real: int = setting(256, "real images per class per outer step", min=1)
    width: int = setting(128, "channels of the ConvNet used for matching", min=1)
    outer_loop: int | None = setting(None, "image updates per iteration (None = by IPC: 1->1, 10->10, 50->50)")
    inner_loop: int | None = setting(None, "epochs of net training on S between image updates (None = by IPC: 1->1, 10->50, 50->10)")
    lr_net: float = setting(0.01, "learning rate of the network trained on S in the inner loop", min=0.0)
    batch_train: int = setting(256, "batch size of the inner-loop network training", min=1)
    bn_real: int = setting(16, "real images per class that set the (frozen) BatchNorm statistics", min=1)
    batched: bool | None = setting(
        None, "per-class gradients: True = all classes in one vmapped call, False = a per-class loop, "
        "None = by device (batched on a GPU; on CPU batched for nets of width <= 32, the loop for wider)",
        choices=(None, True, False))

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "paper": {"iterations": 1000, "batch_real": 256, "lr_img": 0.1, "width": 128, "init": "noise"},
        "cpu": {"iterations": 100, "batch_real": 64, "lr_img": 0.1, "width": 32},
        "classroom": {"iterations": 50, "outer_loop": 5, "inner_loop": 5, "batch_real": 32, "lr_img": 0.1,
                      "width": 32, "init": "real"},
    }
    PRESET_SOURCES: ClassVar[Mapping[str, str]] = {
        "paper": "authors' README command `python main.py --dataset CIFAR10 --model ConvNet --ipc 10` "
                 "(main.py defaults: 1000 iterations, lr_img 0.1, batch_real 256, init noise)",
        "cpu": "dclab's CPU budget: 100 iterations, batch_real 64, ConvNet width 32",
        "classroom": CLASSROOM_NOTE,
    }


    def validate(self) -> None:
        super().validate()
        for name in ("outer_loop", "inner_loop"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be >= 1 (or None for the IPC default), got {value}")


def _labels(num_classes: int, per_class: int, device: torch.device, first_class: int = 0) -> Tensor:
    """(classes, per_class) label grid: row c is all first_class + c."""
    return torch.arange(first_class, first_class + num_classes, device=device).view(-1, 1).expand(-1, per_class)


def per_class_grads(net: nn.Module, x: Tensor, first_class: int = 0) -> dict[str, Tensor]:
    """∇θ CE(net(x_c), c) for every class c in one vmapped call (row c of x is class first_class + c).

    x: (classes, n, C, H, W) -> {param name: (classes, *param shape)}. Parameters are detached
    (the matching loss never trains the net); if x requires grad, the result is differentiable
    w.r.t. x (torch.func composes with the outer autograd graph).
    """
    params = {name: p.detach() for name, p in net.named_parameters()}
    buffers = dict(net.named_buffers())
    labels = _labels(x.shape[0], x.shape[1], x.device, first_class)

    def loss(p: dict[str, Tensor], xc: Tensor, yc: Tensor) -> Tensor:
        return F.cross_entropy(functional_call(net, (p, buffers), (xc,)), yc)

    return vmap(grad(loss), in_dims=(None, 0, 0))(params, x, labels)


def dc_class_losses(net: nn.Module, real: Tensor, syn: Tensor, subset: int | None = None,
                    first_class: int = 0) -> Tensor:
    """Batched path. real: (classes, B, C, H, W), syn: (classes, N, C, H, W) -> (classes,) distances.

    With `subset` = n, adds the distance for the prefix syn[:, :n] (MDC's subset term); row c holds
    class first_class + c (a rank's block of classes under torchrun).
    """
    g_real = per_class_grads(net, real, first_class)  # no graph: real is data
    g_syn = per_class_grads(net, syn, first_class)  # differentiable w.r.t. syn
    names = list(g_real)
    losses = gradient_distance([g_syn[k] for k in names], [g_real[k] for k in names], batch_dims=1)
    if subset is not None:
        g_sub = per_class_grads(net, syn[:, :subset], first_class)
        losses = losses + gradient_distance([g_sub[k] for k in names], [g_real[k] for k in names], batch_dims=1)
    return losses


def dc_class_losses_reference(net: nn.Module, real: Tensor, syn: Tensor, subset: int | None = None,
                              first_class: int = 0) -> Tensor:
    """Reference path: the per-class loop of the authors' code (autograd.grad per class)."""
    params = list(net.parameters())
    out = []
    for row in range(real.shape[0]):
        c = first_class + row  # the label of this row's class
        g_real = [g.detach() for g in _class_grads(net, params, real[row], c, create_graph=False)]
        loss = gradient_distance(_class_grads(net, params, syn[row], c, create_graph=True), g_real)
        if subset is not None:
            loss = loss + gradient_distance(_class_grads(net, params, syn[row, :subset], c, create_graph=True), g_real)
        out.append(loss)
    return torch.stack(out)


def _class_grads(net: nn.Module, params: list[Tensor], x: Tensor, c: int, create_graph: bool) -> tuple[Tensor, ...]:
    """∇θ CE(net(x), c) for images x (n, C, H, W) all of class c (reference path)."""
    y = torch.full((x.shape[0],), c, device=x.device)
    return torch.autograd.grad(F.cross_entropy(net(x), y), params, create_graph=create_graph)


def set_frozen_bn_stats(net: nn.Module, real: Tensor) -> None:
    """BatchNorm statistics := those of `real` (N, C, H, W), then frozen (eval mode) for matching."""
    bns = batchnorm_layers(net)
    if not bns:
        return
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: after one batch, running stats = batch stats
        m.train()
    with torch.no_grad():
        net(real)
    for m, momentum in zip(bns, momenta):
        m.momentum = momentum
        m.eval()


@METHODS.register("dc")
class DC(CondensationMethod):
    """Gradient matching under networks trained on the synthetic set."""

    name = "dc"
    config_class = DCConfig
    description = "Dataset Condensation (Zhao et al. 2021): match per-class training gradients"
    config: DCConfig

    @classmethod
    def published_protocol(cls, dataset: str, ipc: int) -> tuple[dict[str, Any], str]:
        """DC sets: 300 epochs without augmentation, except MNIST (DC's crop_scale_rotate, 1000 epochs)."""
        if dataset.lower() == "mnist":
            return ({"net": "convnet", "epochs": 1000, "augment": "crop_scale_rotate"},
                    "DC paper Table 1; authors' utils.py get_daparam (MNIST: crop_scale_rotate, 1000 epochs)")
        return super().published_protocol(dataset, ipc)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default_outer, default_inner = loops_for_ipc(self.ipc)
        self.outer_loop = self.config.outer_loop or default_outer
        self.inner_loop = self.config.inner_loop or default_inner
        self.real_batch = min(self.config.batch_real, self.data.min_class_count())

    @classmethod
    def rank_split(cls, config: MethodConfig) -> str | None:
        """Per-class gradients are independent (BatchNorm statistics are frozen before matching)."""
        return "classes"

    # ---- hooks for DSA ---------------------------------------------------------
    def _augment_pair(self, real: Tensor, syn: Tensor) -> tuple[Tensor, Tensor]:
        """Transform applied identically to the real and synthetic batch of each class (DSA)."""
        return real, syn

    def _augment_train(self, x: Tensor) -> Tensor:
        """Augmentation of inner-loop training batches (DSA)."""
        return x

    # ---- one iteration -----------------------------------------------------------
    def resolve_batched(self, batched: bool | None) -> bool:
        """None on a CPU: batched for small matching nets (see the module docstring), else the device rule."""
        if batched is None and self.device.type == "cpu":  # measured for the ConvNet family only
            return self.config.net.startswith("convnet") and self.config.width <= SMALL_WIDTH
        return super().resolve_batched(batched)

    def class_losses(self, net: nn.Module, real: Tensor, syn: Tensor, subset: int | None = None,
                     first_class: int = 0) -> Tensor:
        """Per-class matching loss (classes,), the batched or the loop path per config; row c is class
        first_class + c."""
        batched = self.resolve_batched(self.config.batched)
        fn = dc_class_losses if batched else dc_class_losses_reference
        return fn(net, real, syn, subset, first_class)

    def _step(self) -> tuple[float, tuple[float, ...], dict[str, float]]:
        return self.matching_step()

    def matching_step(self, subset: int | None = None, frozen: int = 0,
                      probe: SubsetProbe | None = None) -> tuple[float, tuple[float, ...], dict[str, float]]:
        """One iteration (MDC's hook): `subset` = n adds the loss of the prefix S[:n], the first
        `frozen` images per class get no gradient, `probe(net, real, syn)` sees each augmented batch."""
        k = self.data.num_classes
        net = self.new_net()
        net.train()
        net_opt = torch.optim.SGD(net.parameters(), lr=self.config.lr_net)
        class_total = torch.zeros(k, device=self.device)  # summed on the device: one sync per iteration
        for outer in range(self.outer_loop):
            real, syn = self.matching_inputs(net)
            if probe is not None:
                probe(net, real, syn)
            losses = self.class_losses(net, *self.shard.own(real, syn), subset, self.shard.start)  # this rank's classes
            loss = losses.sum()
            self.optimizer.zero_grad(set_to_none=False)
            loss.backward()
            self.shard.reduce_grad(self.images)  # torchrun: every class's gradient, summed over ranks
            freeze_prefix_(self.images, k, frozen)
            self.optimizer.step()
            class_total += self.shard.all_classes(losses).detach()  # (k,): every rank's classes
            if outer < self.outer_loop - 1:
                self._train_net(net, net_opt)
        mean_class = (class_total / self.outer_loop).cpu().tolist()
        return sum(mean_class), tuple(mean_class), {}

    def matching_inputs(self, net: nn.Module) -> tuple[Tensor, Tensor]:
        """The inputs of one matching step on `net`: BatchNorm statistics set and frozen, a real batch
        per class (k, B, C, H, W) and the synthetic images (k, N, C, H, W), through the same siamese
        augmentation (DSA; none for DC). Draws from the method's generator, as the step does."""
        self._freeze_bn(net)
        real = self.data.sample_per_class(self.real_batch, self.generator)  # (k, B, C, H, W)
        syn = self.images.view(self.data.num_classes, self.ipc, *self.data.shape)  # (k, N, C, H, W)
        return self._augment_pair(real, syn)

    def _freeze_bn(self, net: nn.Module) -> None:
        """BatchNorm nets: statistics from `bn_real` real images per class, frozen (reference)."""
        if not has_batchnorm(net):
            return
        per_class = min(self.config.bn_real, self.data.min_class_count())
        real = self.data.sample_per_class(per_class, self.generator).flatten(0, 1)
        set_frozen_bn_stats(net, real)

    def _train_net(self, net: nn.Module, opt: torch.optim.Optimizer) -> None:
        """`inner_loop` epochs of SGD on a detached copy of the synthetic set.

        When one batch holds the whole set (IPC x classes <= batch_train, e.g. 100 images at the
        default 256), an epoch is one full-batch step: the shuffle and the gather are skipped (the
        mean loss of a full batch does not depend on its order)."""
        net.train()
        x, y = self.images.detach().clone(), self.labels
        whole = x.shape[0] <= self.config.batch_train
        for _ in range(self.inner_loop):
            batches = [(x, y)] if whole else _shuffled_batches(x, y, self.config.batch_train, self.generator)
            for xb, yb in batches:
                loss = F.cross_entropy(net(self._augment_train(xb)), yb)
                opt.zero_grad(set_to_none=False)
                loss.backward()
                opt.step()


def _shuffled_batches(x: Tensor, y: Tensor, size: int, generator: torch.Generator) -> list[tuple[Tensor, Tensor]]:
    """One epoch of (images, labels) batches in a random order (helper of `DC._train_net`)."""
    order = torch.randperm(x.shape[0], generator=generator).to(x.device)
    return [(x[idx], y[idx]) for idx in order.split(size)]
