"""MDC: multisize dataset condensation (He et al., ICLR 2024).

One condensation serves every size: S[n] = the first n images of each class. The loss is the
base method's matching loss on S plus the same loss on the "most learnable subset" S[n*]:
    L = L_base(S) + L_base(S[n*]).
Every `delta_t` iterations a fresh network measures, for each n < N, the feature distance
F_t(n) = Σ_c ‖mean f(S_c[:n]) − mean f(B_c)‖ (last-layer features, one forward of S, prefix
means by cumulative sums); the rate R(n) = |F_t(n) − F_{t−Δt}(n)| / Δt picks n* = argmax R
(initially n* = 1). If n* grew, the previous MLS images are frozen until the next selection.
The base method (dm, dc or dsa) does the matching; MDC sets its subset/freeze hooks.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from dclab.config import setting
from dclab.data.bundle import DatasetBundle
from dclab.methods.base import METHODS, CondensationMethod, MethodConfig
from dclab.methods.dsa import DSAConfig
from dclab.methods.matching import prefix_mean_distances

BASES = ("dm", "dc", "dsa")


def select_mls(prev_distances: Tensor | None, distances: Tensor, delta_t: int) -> int:
    """n* = argmax_n |F_t(n) − F_{t−Δt}(n)| / Δt, as a subset size (1-based).

    distances[i] is F_t for n = i + 1. No previous measurement (or no n < N) -> 1.
    Ties pick the smallest n.
    """
    if prev_distances is None or distances.numel() == 0:
        return 1
    rate = (distances - prev_distances).abs() / delta_t  # (N-1,)
    return int(torch.argmax(rate).item()) + 1


def frozen_prefix(prev_mls: int, new_mls: int) -> int:
    """Images per class frozen after a selection: the previous MLS if the MLS grew, else none."""
    return prev_mls if new_mls > prev_mls else 0


@dataclass(frozen=True)
class MDCConfig(DSAConfig):
    """Base-method settings (union of DM and DC/DSA settings) plus MDC's own."""

    base: str = setting(
        "dm", "matching method whose loss MDC extends (set lr_img to match: 1.0 for dm, 0.1 for dc/dsa)",
        choices=BASES)
    delta_t: int = setting(100, "iterations between most-learnable-subset selections (paper 100)", min=1)
    dsa: bool = setting(True, "base dm: apply siamese augmentation (dc never does; dsa always does)")

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "paper": {"base": "dm", "iterations": 20000, "batch_real": 256, "lr_img": 1.0, "net_width": 128, "delta_t": 100},
        "paper_dsa": {"base": "dsa", "iterations": 1000, "batch_real": 256, "lr_img": 0.1, "net_width": 128, "delta_t": 100},
        "cpu": {"base": "dm", "iterations": 300, "batch_real": 64, "lr_img": 1.0, "net_width": 32, "delta_t": 20},
    }

    def base_config(self, config_class: type[MethodConfig]) -> MethodConfig:
        """The base method's config, built from the fields it shares with this one."""
        names = {f.name for f in dataclasses.fields(config_class)}
        cfg = config_class(**{k: v for k, v in self.to_dict().items() if k in names})
        cfg.validate()
        return cfg


@METHODS.register("mdc")
class MDC(CondensationMethod):
    """Multisize condensation on top of dm / dc / dsa."""

    name = "mdc"
    config_class = MDCConfig
    description = "Multisize Dataset Condensation (He et al. 2024): every prefix S[n] is a good set"
    config: MDCConfig

    def __init__(
        self,
        data: DatasetBundle,
        ipc: int,
        config: MethodConfig | None = None,
        seed: int = 0,
        device: str | torch.device = "auto",
    ) -> None:
        super().__init__(data, ipc, config, seed, device)
        base_cls = METHODS.get(self.config.base)
        self.base = base_cls(data, ipc, self.config.base_config(base_cls.config_class), seed, self.device)
        # one set of images, optimiser and random stream, owned by the base and checkpointed here
        self.images, self.optimizer, self.generator = self.base.images, self.base.optimizer, self.base.generator
        self.mls = 1  # n*: size of the most learnable subset
        self.frozen = 0  # images per class frozen since the last selection
        self.prev_distances: Tensor | None = None  # F_{t−Δt}(n), n = 1..N-1

    def _select(self) -> None:
        """Measure F_t(n) with a fresh net and update n* and the frozen prefix."""
        k, n = self.data.num_classes, self.ipc
        net = self.base.new_net()
        net.train()
        net.requires_grad_(False)
        real = self.data.sample_per_class(self.base.real_batch, self.generator)  # (k, B, C, H, W)
        b = real.shape[1]
        with torch.no_grad():
            # one forward for S and B (a BatchNorm net then shares batch statistics)
            emb = net.embed(torch.cat([self.images.detach(), real.flatten(0, 1)]))
            emb_syn, emb_real = emb[: k * n].view(k, n, -1), emb[k * n :].view(k, b, -1)
            distances = prefix_mean_distances(emb_syn, emb_real, n - 1).cpu()  # (N-1,)
        new_mls = select_mls(self.prev_distances, distances, self.config.delta_t)
        self.frozen = frozen_prefix(self.mls, new_mls)
        self.mls = new_mls
        self.prev_distances = distances

    def _step(self) -> tuple[float, tuple[float, ...], dict[str, float]]:
        if self.iteration % self.config.delta_t == 0:
            self._select()
        self.base.subset_size = self.mls
        self.base.frozen_count = self.frozen
        loss, class_losses, extra = self.base._step()
        return loss, class_losses, {**extra, "mls": float(self.mls), "frozen": float(self.frozen)}

    def _extra_state(self) -> dict[str, Any]:
        return {"mls": self.mls, "frozen": self.frozen, "prev_distances": self.prev_distances}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.mls = int(state.get("mls", 1))
        self.frozen = int(state.get("frozen", 0))
        prev = state.get("prev_distances")
        self.prev_distances = None if prev is None else prev.clone()
