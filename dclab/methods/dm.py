"""DM: dataset condensation with distribution matching (Zhao & Bilen, WACV 2023).

Each iteration draws a fresh, untrained network (weights frozen) and matches, per class, the mean
embedding of an (augmented) real batch and of the (identically augmented) synthetic images:
    L = Σ_c ‖ mean_i f(A_ω(x_ci)) − mean_j f(A_ω(s_cj)) ‖²
then takes one SGD step on the synthetic images.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from dclab.augment.dsa import draw_siamese, resolve_dsa_strategy
from dclab.config import setting
from dclab.methods._base import METHODS, CondensationMethod, MethodConfig
from dclab.methods._matching import SubsetProbe, freeze_prefix_, mean_embedding_distance
from dclab.nets.layers import has_batchnorm


@dataclass(frozen=True)
class DMConfig(MethodConfig):
    iterations: int = setting(20000, "number of condensation iterations (one image update each)", min=1)
    lr_img: float | None = setting(
        None, "learning rate of the synthetic images (SGD); None = as the authors: 1, or 10 for IPC >= 100")
    batch_real: int = setting(256, "real images per class per iteration", min=1)
    width: int = setting(128, "channels of the ConvNet used for matching", min=1)
    dsa: bool = setting(True, "apply the same differentiable siamese augmentation to real and synthetic batches")
    dsa_strategy: str = setting("auto", "DSA ops ('auto' = the published strategy for the data set)")
    batched: bool | None = setting(
        None, "True = all classes batched in chunked forwards, False = a per-class loop (the reference "
        "path), None = by device (batched on a GPU, the loop on CPU)", choices=(None, True, False))

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "paper": {"iterations": 20000, "batch_real": 256, "lr_img": None, "width": 128, "init": "real"},
        "cpu": {"iterations": 300, "batch_real": 64, "lr_img": None, "width": 32},
        "classroom": {"iterations": 600, "batch_real": 64, "lr_img": None, "width": 32, "init": "real"},
    }
    PRESET_SOURCES: ClassVar[Mapping[str, str]] = {
        "paper": "authors' README command `python main_DM.py --dataset CIFAR10 --model ConvNet --ipc 10 "
                 "--dsa_strategy color_crop_cutout_flip_scale_rotate --init real --lr_img 1` "
                 "(20000 iterations, batch_real 256; lr_img 10 for IPC >= 100 as in DM paper §4)",
        "cpu": "dclab's CPU budget: 300 iterations, batch_real 64, ConvNet width 32",
        "classroom": "about a minute on a 2-core CPU (digits, IPC 10), paced with DC's classroom run: gives "
                     "up against paper 33x fewer iterations (600 vs 20000; fewer random networks seen), "
                     "64 instead of 256 real images per class, ConvNet width 32 instead of 128",
    }



LARGE_IPC = 100  # from here on the authors use lr_img 10


# Real images per forward: bounds memory (CIFAR-100 x 256 real images at width 128 would be 13 GB
# of activations at once); timings of chunk sizes are in benchmarks/condense_speed.py.
REAL_CHUNK = 512


def embed_without_graph(net: nn.Module, x: Tensor, chunk: int = REAL_CHUNK) -> Tensor:
    """net.embed(x) (N, D) without autograd, `chunk` images per forward."""
    with torch.no_grad():
        return torch.cat([net.embed(part) for part in x.split(chunk)])


def dm_class_losses(net: nn.Module, real: Tensor, syn: Tensor, subset: int | None = None) -> Tensor:
    """Per-class DM loss with all classes batched: one forward for real, one for synthetic.

    real: (classes, B, C, H, W), syn: (classes, N, C, H, W) -> (classes,).
    Real and synthetic images go through SEPARATE forwards, as in the authors' code: with
    BatchNorm each forward normalises with its own batch statistics (the real forward of all
    classes is one batch, so its statistics are those of the whole real batch, never chunked).
    Per-sample norms (instance/group/layer/none) embed the real half without a graph, in chunks
    of `REAL_CHUNK` images that mix classes: backward covers only the synthetic images, and memory
    stays bounded for many classes.
    With `subset` = n, adds the same loss for the prefix syn[:, :n] (MDC's subset term).
    """
    k, b, n = real.shape[0], real.shape[1], syn.shape[1]
    if has_batchnorm(net):  # one batch of all real images: BN statistics of the whole real batch
        with torch.no_grad():
            emb_real = net.embed(real.flatten(0, 1)).view(k, b, -1)  # (k, B, D)
    else:  # per-sample norms: chunking changes nothing
        emb_real = embed_without_graph(net, real.flatten(0, 1)).view(k, b, -1)  # all classes
    emb_syn = net.embed(syn.flatten(0, 1)).view(k, n, -1)  # all classes, one forward
    losses = mean_embedding_distance(emb_real, emb_syn)
    if subset is not None:
        losses = losses + mean_embedding_distance(emb_real, emb_syn[:, :subset])
    return losses


def dm_class_losses_reference(net: nn.Module, real: Tensor, syn: Tensor, subset: int | None = None) -> Tensor:
    """Plain per-class loop (reference code path for per-sample norms). Same maths, same shapes."""
    out = []
    for c in range(real.shape[0]):
        emb_real = net.embed(real[c])  # (B, D)
        emb_syn = net.embed(syn[c])  # (N, D)
        loss = (emb_real.mean(0) - emb_syn.mean(0)).pow(2).sum()
        if subset is not None:
            loss = loss + (emb_real.mean(0) - emb_syn[:subset].mean(0)).pow(2).sum()
        out.append(loss)
    return torch.stack(out)


@METHODS.register("dm")
class DM(CondensationMethod):
    """Distribution matching of mean embeddings under random, frozen networks."""

    name = "dm"
    config_class = DMConfig
    description = "Distribution Matching (Zhao & Bilen 2023): match mean embeddings of random nets"
    config: DMConfig

    @classmethod
    def published_protocol(cls, dataset: str, ipc: int) -> tuple[dict[str, Any], str]:
        return ({"net": "convnet", "epochs": 1000, "augment": "dsa"},
                "DM paper (Zhao & Bilen, WACV 2023) Table 1; authors' main_DM.py (1000 epochs with DSA)")

    @classmethod
    def rank_split(cls, config: MethodConfig) -> str | None:
        """Per-class losses are independent, except through BatchNorm's statistics of all classes."""
        return None if config.norm == "batchnorm" or str(config.net).endswith("_bn") else "classes"

    def image_lr(self) -> float:
        if self.config.lr_img is not None:
            return float(self.config.lr_img)
        return 10.0 if self.ipc >= LARGE_IPC else 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.real_batch = min(self.config.batch_real, self.data.min_class_count())
        self.dsa_strategy = resolve_dsa_strategy(self.config.dsa_strategy, self.data.name)

    def _step(self) -> tuple[float, tuple[float, ...], dict[str, float]]:
        return self.matching_step()

    def matching_step(self, subset: int | None = None, frozen: int = 0,
                      probe: SubsetProbe | None = None) -> tuple[float, tuple[float, ...], dict[str, float]]:
        """One iteration (MDC's hook): `subset` = n adds the loss of the prefix S[:n], the first
        `frozen` images per class get no gradient, `probe(net, real, syn)` sees the augmented batch."""
        k, n = self.data.num_classes, self.ipc
        net = self.new_net(device_layout=True)
        net.train()
        net.requires_grad_(False)  # the embedding net is never trained
        real = self.data.sample_per_class(self.real_batch, self.generator)  # (k, B, C, H, W)
        syn = self.images.view(k, n, *self.data.shape)  # (k, N, C, H, W)
        if self.config.dsa:
            real, syn = draw_siamese(self.dsa_strategy, real, syn, self.generator)
        if probe is not None:
            probe(net, real, syn)
        # BN: the statistics are those of the batch of all classes (real) / all classes (synthetic)
        batched = self.resolve_batched(self.config.batched) or has_batchnorm(net)
        loss_fn = dm_class_losses if batched else dm_class_losses_reference
        class_losses = loss_fn(net, *self.shard.own(real, syn), subset)  # this rank's classes (all in one process)
        loss = class_losses.sum()
        self.optimizer.zero_grad(set_to_none=False)
        loss.backward()
        self.shard.reduce_grad(self.images)  # torchrun: every class's gradient, summed over ranks
        freeze_prefix_(self.images, k, frozen)
        self.optimizer.step()
        class_losses = self.shard.all_classes(class_losses)
        return float(class_losses.detach().sum()), tuple(class_losses.detach().cpu().tolist()), {}
