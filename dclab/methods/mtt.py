"""MTT: Matching Training Trajectories (Cazenavette et al. 2022, "Dataset Distillation by Matching
Training Trajectories").

Experts trained on real data give parameter trajectories θ*_0..θ*_E (dclab.methods._trajectories).
Each iteration: pick an expert and a start epoch t < max_start_epoch; the student starts at
θ̂_0 = θ*_t and takes N SGD steps on synthetic minibatches with a learnable lr α:

    θ̂_{n+1} = θ̂_n − α ∇ℓ(x̃_{b_n}; θ̂_n)                               (paper Eq. 1)
    L = ‖θ̂_N − θ*_{t+M}‖² / ‖θ*_t − θ*_{t+M}‖²                           (paper Eq. 2)

As the authors' code: experts train on DSA-augmented batches, and every student step sees its
minibatch through a fresh DSA draw (one op family per step, independent parameters per image);
CIFAR runs may whiten the data with ZCA (fitted on the training set, `dclab.data.zca`). The set
is evaluated by training with the learned step size α (`published_protocol`).

The student is ONE flat parameter vector (functional_call on views of it), so each step is a
single fused update and the loss is a vector norm. Images: SGD lr_img, momentum 0.5; α: SGD
lr_lr, momentum 0.5 (as the authors' code).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from dclab.augment.dsa import dsa_augment, resolve_dsa_strategy
from dclab.config import ConfigError, setting
from dclab.data.bundle import DatasetBundle
from dclab.data.zca import DEFAULT_EPS as ZCA_EPS
from dclab.data.zca import ZCA, whiten_bundle
from dclab.device import resolve_device
from dclab.distributed.collectives import all_reduce_sum_differentiable
from dclab.distributed.shard import BatchShard
from dclab.methods._base import METHODS, CondensationMethod, MethodConfig
from dclab.methods._functional import FlatNet
from dclab.methods._trajectories import ExpertBuffer, ExpertSpec, build_or_load_buffer
from dclab.presets import default_preset
from dclab.progress import Progress
from dclab.synthetic import SyntheticSet

# Cazenavette et al. 2022, appendix hyper-parameter table (also the readme's table image of
# GeorgeCazenavette/mtt-distillation): (data set, IPC) -> N, M, T+, ZCA, lr_img, lr_lr, lr_teacher.
PAPER_TABLE: dict[tuple[str, int], dict[str, Any]] = {
    ("cifar10", 1): {"syn_steps": 50, "expert_epochs": 2, "max_start_epoch": 2, "zca": True,
                     "lr_img": 1000.0, "lr_lr": 1e-7, "lr_teacher": 0.01},
    ("cifar10", 10): {"syn_steps": 30, "expert_epochs": 2, "max_start_epoch": 20, "zca": True,
                      "lr_img": 1000.0, "lr_lr": 1e-5, "lr_teacher": 0.01},
    ("cifar10", 50): {"syn_steps": 30, "expert_epochs": 2, "max_start_epoch": 40, "zca": False,
                      "lr_img": 100.0, "lr_lr": 1e-5, "lr_teacher": 0.01},
    ("cifar100", 1): {"syn_steps": 20, "expert_epochs": 3, "max_start_epoch": 20, "zca": True,
                      "lr_img": 1000.0, "lr_lr": 1e-5, "lr_teacher": 0.01},  # also the readme's command
    ("cifar100", 10): {"syn_steps": 20, "expert_epochs": 2, "max_start_epoch": 20, "zca": False,
                       "lr_img": 1000.0, "lr_lr": 1e-5, "lr_teacher": 0.01},
    ("cifar100", 50): {"syn_steps": 80, "expert_epochs": 2, "max_start_epoch": 40, "zca": True,
                       "lr_img": 1000.0, "lr_lr": 1e-5, "lr_teacher": 0.01, "batch_syn": 125},
}
README_ROW = ("cifar100", 1)  # the one row the authors' README gives as a text command
PAPER_NETWORK = {"iterations": 5000, "width": 128, "depth": 3, "num_experts": 100, "augment": "dsa"}


def paper_preset_name(dataset: str, ipc: int) -> str:
    """Name of the preset for a tabulated (data set, IPC), e.g. 'paper_cifar10_ipc10'."""
    return f"paper_{dataset}_ipc{ipc}"


@dataclass(frozen=True)
class MTTConfig(MethodConfig):
    """MTT settings. Presets `paper_<dataset>_ipc<n>` are the paper's appendix table (`PAPER_TABLE`);
    `paper` is its CIFAR-10 IPC 10 row. Experts train for max_start_epoch + expert_epochs epochs
    (the authors train 50 and only ever use the first T+ + M)."""

    iterations: int = setting(5000, "outer iterations", min=1)
    norm: str = setting(
        "instancenorm", "normalisation layer of the network",
        choices=("none", "layernorm", "instancenorm", "groupnorm"),
    )
    width: int = setting(128, "ConvNet width (channels)", min=1)
    depth: int = setting(3, "ConvNet depth (blocks)", min=1)
    lr_img: float = setting(1000.0, "SGD learning rate of the images (momentum 0.5)", min=0.0)
    num_experts: int = setting(100, "expert networks in the trajectory buffer", min=1)
    expert_epochs: int = setting(2, "M: expert epochs the student must match", min=1)
    max_start_epoch: int = setting(20, "start epoch t is drawn from 0..max_start_epoch-1", min=1)
    syn_steps: int = setting(30, "N: student steps on synthetic data per iteration", min=1)
    batch_syn: int = setting(0, "synthetic images per student step (0 = all)", min=0)
    lr_teacher: float = setting(0.01, "SGD lr of the experts; also the initial student lr α", min=1e-8)
    lr_lr: float = setting(1e-5, "SGD learning rate of the student lr α (momentum 0.5)", min=0.0)
    expert_batch: int = setting(256, "batch size of expert training", min=1)
    augment: str = setting("dsa", "DSA in expert training and in every student step (authors: on)",
                           choices=("dsa", "none"))
    dsa_strategy: str = setting("auto", "DSA ops ('auto' = the published strategy for the data set)")
    zca: bool = setting(False, "ZCA-whiten the data (fit on the training set, eps 0.1; authors: CIFAR rows)")
    expert_seed: int = setting(0, "seed of the expert buffer (shared across runs)")
    experts_dir: str = setting("", "folder of cached expert buffers ('' = $DCLAB_EXPERTS or ~/.cache/dclab/experts)")

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "paper": {**PAPER_NETWORK, **PAPER_TABLE[("cifar10", 10)]},
        **{paper_preset_name(d, n): {**PAPER_NETWORK, **row} for (d, n), row in PAPER_TABLE.items()},
        "cpu": {"iterations": 200, "width": 16, "depth": 2, "num_experts": 2, "expert_epochs": 2,
                "max_start_epoch": 3, "syn_steps": 10, "lr_img": 100.0, "lr_lr": 1e-5, "lr_teacher": 0.01},
        "classroom": {"iterations": 150, "width": 16, "depth": 2, "num_experts": 2, "expert_epochs": 2,
                      "max_start_epoch": 3, "syn_steps": 10, "lr_img": 100.0, "lr_lr": 1e-5, "lr_teacher": 0.01},
    }
    PRESET_SOURCES: ClassVar[Mapping[str, str]] = {
        "paper": "Cazenavette et al. 2022 appendix hyper-parameter table, CIFAR-10 IPC 10 row (see paper_cifar10_ipc10)",
        **{paper_preset_name(d, n): (
            f"Cazenavette et al. 2022 appendix hyper-parameter table, {d} IPC {n} row"
            + (" (also the authors' README command)" if (d, n) == README_ROW else
               " (not checked against the primary text: the table is an image in the authors' README)"))
           for (d, n) in PAPER_TABLE},
        "cpu": "dclab's CPU budget (not a published setting): 2 experts of width 16, depth 2, 200 iterations",
        "classroom": "about a minute on a 2-core CPU (digits, IPC 10; the experts train once first): gives up "
                     "against paper 2 instead of 100 experts, 10 instead of 30 student steps, starts from "
                     "the first 3 expert epochs only, a ConvNet-2 of width 16 instead of ConvNet-3 width 128, "
                     "150 instead of 5000 iterations",
    }


    def expert_spec(self, dsa_strategy: str) -> ExpertSpec:
        return ExpertSpec(net=self.net, net_options=self.net_options(), num_experts=self.num_experts,
                          epochs=self.max_start_epoch + self.expert_epochs, lr=self.lr_teacher,
                          batch_size=self.expert_batch, augment=self.augment, dsa_strategy=dsa_strategy,
                          zca_eps=ZCA_EPS if self.zca else None, seed=self.expert_seed)


def trajectory_loss(student_end: Tensor, start: Tensor, target: Tensor) -> Tensor:
    """Eq. 2: ‖θ̂_N − θ*_{t+M}‖² / ‖θ*_t − θ*_{t+M}‖² (all (P,))."""
    return (student_end - target).pow(2).sum() / (start - target).pow(2).sum()


def student_trajectory(net: FlatNet, start: Tensor, images: Tensor, labels: Tensor, syn_lr: Tensor,
                       batches: list[Tensor], augment: Callable[[Tensor], Tensor] | None = None,
                       shard: BatchShard = BatchShard()) -> Tensor:
    """θ̂_N after one step per index batch (Eq. 1), differentiable w.r.t. images and syn_lr.

    augment: applied to each step's minibatch (the authors' DSA: a fresh draw every step).
    shard: under torchrun, this rank's rows of each minibatch (as the authors' DataParallel splits
    the synthetic batch): the whole minibatch is augmented on every rank (the same draws), a rank
    takes the gradient of its rows' share of the mean CE, and the step uses the sum over ranks
    (a differentiable all-reduce), so every rank holds the same θ̂ at every step."""
    theta = start.detach().clone().requires_grad_(True)  # (P,)
    for idx in batches:
        x = images[idx] if augment is None else augment(images[idx])
        if not shard.split:
            loss = F.cross_entropy(net(theta, x), labels[idx])
        else:
            rows = shard.rows(idx.shape[0])
            loss = F.cross_entropy(net(theta, x[rows]), labels[idx][rows], reduction="sum") / idx.shape[0]
        (grad,) = torch.autograd.grad(loss, theta, create_graph=True)
        theta = theta - syn_lr * all_reduce_sum_differentiable(grad)  # (P,): Σ over ranks (itself in one process)
    return theta


@METHODS.register("mtt")
class MTT(CondensationMethod):
    """Matching Training Trajectories with a cached expert buffer."""

    name = "mtt"
    config_class = MTTConfig
    description = "Matching Training Trajectories (Cazenavette et al. 2022): student from expert epoch t must reach t+M"

    def __init__(self, data: DatasetBundle, ipc: int, config: MTTConfig | None = None, seed: int = 0,
                 device: str | torch.device = "auto", progress: Progress | None = None) -> None:
        if config is None:
            config = MTTConfig.build(default_preset(resolve_device(device), MTTConfig))
        self.zca: ZCA | None = None
        if isinstance(config, MTTConfig) and config.zca:  # condense in whitened space (train fit on test too)
            data, self.zca = whiten_bundle(data, ZCA_EPS)
        super().__init__(data, ipc, config, seed, device)
        cfg: MTTConfig = self.config  # type: ignore[assignment]
        self.dsa_strategy = resolve_dsa_strategy(cfg.dsa_strategy, data.name)
        self.buffer: ExpertBuffer = build_or_load_buffer(
            data, cfg.expert_spec(self.dsa_strategy), cache_dir=cfg.experts_dir or None, device=self.device,
            progress=progress)
        self.flat_net = FlatNet.wrap(self.new_net())
        if self.flat_net.numel != self.buffer.trajectories.shape[-1]:
            raise ConfigError("the cached expert buffer does not match the network; delete it to rebuild")
        self.syn_lr = torch.tensor(cfg.lr_teacher, device=self.device, requires_grad=True)  # α
        self.lr_optimizer = torch.optim.SGD([self.syn_lr], lr=cfg.lr_lr, momentum=0.5)

    def _minibatches(self) -> list[Tensor]:
        cfg: MTTConfig = self.config  # type: ignore[assignment]
        n = self.images.shape[0]
        size = cfg.batch_syn or n
        out: list[Tensor] = []
        order = torch.randperm(n, generator=self.generator)
        while len(out) < cfg.syn_steps:  # walk through fresh permutations, as the reference code
            if order.numel() < size:
                order = torch.cat([order, torch.randperm(n, generator=self.generator)])
            out.append(order[:size].to(self.device))
            order = order[size:]
        return out

    def _step(self) -> tuple[float, tuple[float, ...], dict[str, float]]:
        cfg: MTTConfig = self.config  # type: ignore[assignment]
        expert = int(torch.randint(self.buffer.num_experts, (1,), generator=self.generator))
        t = int(torch.randint(cfg.max_start_epoch, (1,), generator=self.generator))
        start = self.buffer.params(expert, t).to(self.device)
        target = self.buffer.params(expert, t + cfg.expert_epochs).to(self.device)
        augment = None
        if cfg.augment == "dsa":
            def augment(x: Tensor) -> Tensor:
                return dsa_augment(x, self.dsa_strategy, self.generator)
        end = student_trajectory(self.flat_net, start, self.images, self.labels, self.syn_lr, self._minibatches(),
                                 augment, self.batch_shard)
        loss = trajectory_loss(end, start, target)  # the same on every rank
        self.optimizer.zero_grad(set_to_none=True)
        self.lr_optimizer.zero_grad(set_to_none=True)
        (loss / self.batch_shard.ranks).backward()  # torchrun: each rank its 1/N share of the replicated loss
        self.batch_shard.reduce_grads(self.images, self.syn_lr)  # ... summed: one process's gradient
        self.optimizer.step()
        self.lr_optimizer.step()
        return float(loss.detach()), (), {"syn_lr": float(self.syn_lr.detach()), "start_epoch": float(t)}

    @classmethod
    def rank_split(cls, config: MTTConfig) -> str | None:
        """MTT's loop sees no real batch; ranks split the rows of each student minibatch (synthetic
        images), as the authors' DataParallel does, and share the expert training by expert."""
        return "batch"

    @classmethod
    def published_protocol(cls, dataset: str, ipc: int) -> tuple[dict[str, Any], str]:
        """Evaluation as the authors': 1000 epochs with DSA at the learned step size α."""
        return ({"epochs": 1000, "augment": "dsa", "lr_source": "learned"},
                "Cazenavette et al. 2022 (MTT), distill.py: evaluate_synset with lr_net = learned syn_lr, "
                "epoch_eval_train 1000, DSA")

    def synthetic_set(self) -> SyntheticSet:
        """Images in the data set's (un-whitened) space; the learned α in extras['syn_lr']."""
        s = super().synthetic_set()
        extras = {"syn_lr": float(self.syn_lr.detach())}
        if self.zca is not None:
            s = replace(s, images=self.zca.unwhiten(s.images))
            extras["zca_eps"] = ZCA_EPS
        return replace(s, extras=extras)

    def _extra_state(self) -> dict[str, Any]:
        return {"syn_lr": self.syn_lr.detach().cpu().clone(), "lr_optimizer": self.lr_optimizer.state_dict()}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.syn_lr.copy_(state["syn_lr"].to(self.device))
        self.lr_optimizer.load_state_dict(state["lr_optimizer"])
