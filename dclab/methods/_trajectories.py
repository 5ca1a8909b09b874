"""Expert-trajectory buffer for MTT: networks trained on real data, parameters saved every epoch.

`build_or_load_buffer(data, spec)` trains `spec.num_experts` networks for `spec.epochs` epochs
(plain SGD, no momentum or weight decay, DSA-augmented batches by default: as MTT's `buffer.py`;
ZCA, when on, is applied to `data` by the caller and recorded in the spec), stores each expert's
flat parameter vector after every epoch (epoch 0 = the initialisation), and caches the result on
disk under a key made of everything that determines it (data set + a fingerprint of its training
tensor, net and options, number of experts, epochs, lr, batch size, augmentation, ZCA, seed).
A later call with the same spec loads the file instead of retraining. Under torchrun the experts
are shared out over the ranks (each trains every N-th) and sent to all; the buffer is loaded only
when every rank finds it.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from dclab.augment.dsa import dsa_augment
from dclab.data.bundle import DatasetBundle
from dclab.device import resolve_device
from dclab.distributed.collectives import broadcast_tensor, gather_objects
from dclab.distributed.shard import my_share
from dclab.distributed.world import active_world
from dclab.files import save_torch
from dclab.nets import get_net
from dclab.progress import Progress
from dclab.seeding import derive_seed, make_generator

EXPERTS_DIR_ENV = "DCLAB_EXPERTS"


def default_experts_dir() -> Path:
    """$DCLAB_EXPERTS, else ~/.cache/dclab/experts."""
    return Path(os.environ.get(EXPERTS_DIR_ENV) or Path.home() / ".cache" / "dclab" / "experts")


@dataclass(frozen=True)
class ExpertSpec:
    """Everything that determines an expert buffer (and so its cache key)."""

    net: str = "convnet"
    net_options: dict[str, Any] = field(default_factory=dict)
    num_experts: int = 5
    epochs: int = 22
    lr: float = 0.01
    batch_size: int = 256
    augment: str = "dsa"  # "dsa": independent DSA draws per image on every batch; "none"
    dsa_strategy: str = "color_crop_cutout_flip_scale_rotate"
    zca_eps: float | None = None  # ZCA whitening applied to the data (None = off)
    seed: int = 0

    def key(self, data: DatasetBundle) -> str:
        """Hash of the spec and the data set (name, size, a checksum of the training images)."""
        payload = {
            **asdict(self),
            "dataset": data.name,
            "n_train": int(data.x_train.shape[0]),
            "checksum": round(float(data.x_train.double().sum()), 3),
        }
        return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ExpertBuffer:
    """trajectories: (num_experts, epochs + 1, P) flat parameters; [e, t] = expert e after t epochs."""

    spec: ExpertSpec
    trajectories: Tensor
    path: Path | None = None

    @property
    def num_experts(self) -> int:
        return int(self.trajectories.shape[0])

    @property
    def epochs(self) -> int:
        return int(self.trajectories.shape[1]) - 1

    def params(self, expert: int, epoch: int) -> Tensor:
        """θ*_{epoch} of `expert`, (P,)."""
        return self.trajectories[expert, epoch]


def train_expert(data: DatasetBundle, spec: ExpertSpec, seed: int, device: torch.device,
                 on_epoch: Callable[[], None] | None = None) -> Tensor:
    """One expert's trajectory (epochs + 1, P): SGD (no momentum, no weight decay) on real data."""
    gen = make_generator(seed)
    net = get_net(spec.net, channels=data.channels, num_classes=data.num_classes, image_size=data.image_size,
                  seed=derive_seed(gen), **spec.net_options).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=spec.lr)
    x, y = data.x_train.to(device), data.y_train.to(device)
    augment = spec.augment == "dsa"
    flat = [torch.nn.utils.parameters_to_vector(net.parameters()).detach().cpu()]
    for _ in range(spec.epochs):
        order = torch.randperm(x.shape[0], generator=gen).to(device)
        for i in range(0, x.shape[0], spec.batch_size):
            idx = order[i:i + spec.batch_size]
            opt.zero_grad(set_to_none=True)
            batch = dsa_augment(x[idx], spec.dsa_strategy, gen) if augment else x[idx]
            F.cross_entropy(net(batch), y[idx]).backward()
            opt.step()
        flat.append(torch.nn.utils.parameters_to_vector(net.parameters()).detach().cpu())
        if on_epoch is not None:
            on_epoch()
    return torch.stack(flat)


def build_or_load_buffer(
    data: DatasetBundle,
    spec: ExpertSpec,
    cache_dir: str | Path | None = None,
    device: str | torch.device = "auto",
    progress: Progress | None = None,
) -> ExpertBuffer:
    """Load the cached buffer for (data, spec) or train it, calling progress(done, total) per epoch."""
    folder = Path(cache_dir) if cache_dir else default_experts_dir()
    path = folder / f"{data.name}-{spec.key(data)}.pt"
    if all(gather_objects(path.is_file())):  # [found] in one process; under torchrun every rank's
        stored = torch.load(path, map_location="cpu", weights_only=True)
        return ExpertBuffer(spec, stored["trajectories"], path)
    dev = resolve_device(device)
    mine = my_share(spec.num_experts)  # torchrun: every N-th expert (all of them in one process)
    total = len(mine) * spec.epochs
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    gen = make_generator(spec.seed)
    seeds = [derive_seed(gen) for _ in range(spec.num_experts)]  # expert e's seed never depends on the rank
    trained = {e: train_expert(data, spec, seeds[e], dev, tick) for e in mine}  # e -> (epochs + 1, P)
    trajectories = torch.stack(_share_experts(data, spec, trained))  # (E, epochs + 1, P)
    world = active_world()
    if world is None or world.local_rank == 0:  # one writer per node (atomic: a shared cache is safe)
        save_torch(path, {"spec": json.dumps(asdict(spec)), "trajectories": trajectories})
    return ExpertBuffer(spec, trajectories, path)


def _share_experts(data: DatasetBundle, spec: ExpertSpec, trained: dict[int, Tensor]) -> list[Tensor]:
    """Helper: every expert's trajectory on every rank, each sent by the rank that trained it
    (`my_share`: expert e by rank e mod N); `trained` itself, in order, in one process."""
    world = active_world()
    if world is None:
        return [trained[e] for e in sorted(trained)]
    numel = sum(p.numel() for p in get_net(spec.net, channels=data.channels, num_classes=data.num_classes,
                                           image_size=data.image_size, seed=0, **spec.net_options).parameters())
    out = []
    for e in range(spec.num_experts):
        t = trained[e].to(world.device) if e in trained else torch.empty(
            spec.epochs + 1, numel, device=world.device)
        out.append(broadcast_tensor(t, src=e % world.size).cpu())
    return out
