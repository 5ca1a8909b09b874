"""MDC: multisize dataset condensation (He et al., ICLR 2024), as the authors' code runs it.

One condensation serves every size: S[n] = the first n images of each class. The loss of every
image update is the base method's matching loss on S plus the same loss on the "most learnable
subset" S[n*]:   L = L_base(S) + L_base(S[n*]).

Selection (every Δt base iterations; the first at iteration 0):
    F_t(n) = mean over the image updates and classes of one base iteration of
             ‖mean f(B_c) − mean f(S_c[:n])‖²          (n = 1..N-1, f = the embedding of the
                                                         network the base matches with, on the
                                                         augmented batches it matches)
    n* = argmax_n |F_t(n) − F_{t−Δt}(n)|               (first selection: n* = 1)
Freezing (sticky): every subset that has been the MLS stays "freezable"; while S[n*] is the MLS
the largest earlier MLS smaller than n* is frozen: its images get no gradient (their momentum
still moves them, as in the authors' code, where they are detached from the loss).

One unit of Δt is one iteration of the base: for idc, dc and dsa an outer iteration (a fresh
network and its inner rounds of image updates), for dm one image update. The base method's public
`matching_step(subset, frozen, probe)` does the matching; MDC only selects and freezes.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from dclab.config import setting
from dclab.data.bundle import DatasetBundle
from dclab.methods._base import METHODS, CondensationMethod, MethodConfig
from dclab.methods.dsa import DSAConfig
from dclab.synthetic import SyntheticSet

BASES = ("idc", "dm", "dc", "dsa")


def squared_prefix_distances(emb_real: Tensor, emb_syn: Tensor, ipc: int) -> Tensor:
    """‖mean f(B_c) − mean f(S_c[:n])‖² for n = 1..ipc-1, per class.

    emb_real: (G, B, D); emb_syn: (G, ipc·u, D), u decoded images per stored image (image-major),
    so S_c[:n] is emb_syn[:, :n·u]. Prefix means from one cumulative sum. Returns (G, ipc-1).
    """
    unit = emb_syn.shape[1] // ipc
    sizes = torch.arange(1, ipc, device=emb_syn.device) * unit  # decoded images in S[n]
    prefix_means = emb_syn.cumsum(1)[:, sizes - 1] / sizes.view(1, -1, 1).to(emb_syn.dtype)  # (G, ipc-1, D)
    return (prefix_means - emb_real.mean(1, keepdim=True)).pow(2).sum(-1)


class SubsetDistances:
    """The probe MDC hands to the base: accumulates F(n) over every matched batch it is shown."""

    def __init__(self, ipc: int) -> None:
        self.ipc = ipc
        self.total = torch.zeros(ipc - 1)
        self.count = 0  # class batches seen

    def __call__(self, net: nn.Module, real: Tensor, syn: Tensor) -> None:
        """real (G, B, C, H, W), syn (G, M, C, H, W): embedded in separate forwards (a BatchNorm
        net normalises each with its own batch statistics, never a joint real+synthetic batch)."""
        g, b, m = real.shape[0], real.shape[1], syn.shape[1]
        with torch.no_grad():
            emb_real = net.embed(real.flatten(0, 1)).view(g, b, -1)
            emb_syn = net.embed(syn.detach().flatten(0, 1)).view(g, m, -1)
            self.total += squared_prefix_distances(emb_real, emb_syn, self.ipc).sum(0).cpu()
        self.count += g

    def mean(self) -> Tensor:
        """F(n) for n = 1..ipc-1, averaged over classes and batches, (ipc-1,)."""
        return self.total / max(self.count, 1)


def select_mls(prev_distances: Tensor | None, distances: Tensor) -> int:
    """n* = argmax_n |F_t(n) − F_{t−Δt}(n)| as a size (1-based); no previous measurement -> 1.

    Ties pick the smallest n.
    """
    if prev_distances is None or distances.numel() == 0:
        return 1
    return int(torch.argmax((distances - prev_distances).abs()).item()) + 1


def frozen_size(earlier_mls: Iterable[int], mls: int) -> int:
    """Images per class frozen while S[mls] is the MLS: the largest earlier MLS below it (else 0)."""
    return max((m for m in earlier_mls if m < mls), default=0)


@dataclass(frozen=True)
class MDCConfig(DSAConfig):
    """Base-method settings (the union of IDC, DM and DC/DSA settings) plus MDC's own."""

    iterations: int = setting(2000, "iterations of the base (idc/dc/dsa: outer iterations; dm: image updates)",
                              min=1)
    base: str = setting("idc", "matching method whose loss MDC extends (the paper's base is idc)", choices=BASES)
    delta_t: int = setting(
        100, "base iterations between MLS selections; one unit = an outer iteration for idc/dc/dsa "
        "(a fresh net and its inner rounds), one image update for dm (paper: 100 IDC outer iterations)", min=1)
    mix_init: bool = setting(True, "idc, init 'real': tile f² shrunk real images into each stored image")
    inner_loop: int | None = setting(
        None, "idc: rounds per outer iteration (None = 100); dc/dsa: net epochs on S (None = by IPC)")
    lr_img: float = setting(5e-3, "learning rate of the images (idc mse 5e-3, dm 1.0, dc/dsa 0.1)", min=0.0)
    batch_real: int = setting(64, "real images per class per image update", min=1)
    dsa: bool = setting(True, "base dm: apply siamese augmentation (dc never does; dsa and idc always do)")
    factor: int = setting(2, "idc: multi-formation factor", min=1)
    metric: str = setting("mse", "idc: gradient distance", choices=("mse", "l1"))
    n_data: int = setting(500, "idc: real images the matching net trains on per round", min=0)
    batch_net: int = setting(64, "idc: batch size of the matching net's real-data training", min=1)

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        # He et al. 2024 on IDC: he-y/Multisize-Dataset-Condensation README
        # (condense_reg.py --reproduce -d cifar10 -f 2 --ipc 10 --adaptive_reg True; adaptive_period 100)
        "paper": {"base": "idc", "iterations": 2000, "delta_t": 100, "factor": 2, "inner_loop": 100,
                  "metric": "mse", "lr_img": 5e-3, "batch_real": 64, "width": 128, "n_data": 2000,
                  "init": "real", "mix_init": True},
        # MDC on DM (paper Table 6 base ablation); Δt 1000 DM iterations = 20 selections per 20k-iteration run
        "paper_dm": {"base": "dm", "iterations": 20000, "delta_t": 1000, "batch_real": 256, "lr_img": 1.0,
                     "width": 128, "init": "real"},
        # dclab CPU sizes (not published settings)
        "cpu": {"base": "idc", "iterations": 20, "delta_t": 5, "factor": 2, "inner_loop": 10, "metric": "mse",
                "lr_img": 5e-3, "batch_real": 32, "width": 32, "n_data": 256, "init": "real"},
        "cpu_dm": {"base": "dm", "iterations": 300, "delta_t": 15, "batch_real": 64, "lr_img": 1.0,
                   "width": 32, "init": "real"},
        "classroom": {"base": "dm", "iterations": 400, "delta_t": 20, "batch_real": 64, "lr_img": 1.0,
                      "width": 32, "init": "real"},
    }
    PRESET_SOURCES: ClassVar[Mapping[str, str]] = {
        "paper": "He et al. 2024 (MDC) on IDC, he-y/Multisize-Dataset-Condensation README command "
                 "`condense_reg.py --reproduce -d cifar10 -f 2 --ipc 10 --adaptive_reg True` (adaptive period 100)",
        "paper_dm": "He et al. 2024, base ablation on DM: DM paper settings (20k iterations, lr_img 1, batch_real 256),"
                    " Δt 1000 image updates (about 20 selections per run)",
        "cpu": "dclab's CPU budget (not a published setting): MDC on IDC, 20 iterations, Δt 5, ConvNet width 32",
        "cpu_dm": "dclab's CPU budget (not a published setting): MDC on DM, 300 iterations, Δt 15, width 32",
        "classroom": "about a minute on a 2-core CPU (digits, IPC 10): gives up against paper the IDC base "
                     "(DM instead, which is 10x cheaper per iteration), 400 DM iterations with a subset "
                     "choice every 20 (20 choices, as paper_dm), 64 real images per class, ConvNet width 32",
    }

    def base_config(self, config_class: type[MethodConfig]) -> MethodConfig:
        """The base method's config from the fields it shares with this one (None = its default)."""
        names = {f.name for f in dataclasses.fields(config_class)}
        values = {k: v for k, v in self.to_dict().items() if k in names and v is not None}
        cfg = config_class(**values)
        cfg.validate()
        return cfg


@METHODS.register("mdc")
class MDC(CondensationMethod):
    """Multisize condensation on top of idc / dm / dc / dsa."""

    name = "mdc"
    config_class = MDCConfig
    description = "Multisize Dataset Condensation (He et al. 2024): every prefix S[n] is a good set"
    config: MDCConfig

    def __init__(self, data: DatasetBundle, ipc: int, config: MethodConfig | None = None, seed: int = 0,
                 device: str | torch.device = "auto") -> None:
        super().__init__(data, ipc, config, seed, device)
        base_cls = METHODS.get(self.config.base)
        self.base = base_cls(data, ipc, self.config.base_config(base_cls.config_class), seed, self.device)
        # one set of images, optimiser and random stream, owned by the base and checkpointed here
        self.images, self.optimizer, self.generator = self.base.images, self.base.optimizer, self.base.generator
        self.mls = 0  # n*: size of the most learnable subset (0 = none selected yet)
        self.earlier_mls: list[int] = []  # sizes that were the MLS before (freezable)
        self.prev_distances: Tensor | None = None  # F_{t−Δt}(n), n = 1..N-1

    @classmethod
    def rank_split(cls, config: MethodConfig) -> str | None:
        """On dm/dc/dsa the base splits its classes (the selection probe sees every class on every
        rank); idc steps the images once per class, so its classes cannot be split."""
        base = getattr(config, "base", "idc")
        return None if base == "idc" else METHODS.get(base).rank_split(config)

    @classmethod
    def published_protocol(cls, dataset: str, ipc: int) -> tuple[dict[str, Any], str]:
        """MDC evaluates every subset as its base (IDC) evaluates a set (he-y/Multisize-Dataset-Condensation test.py)."""
        overrides, source = METHODS.get("idc").published_protocol(dataset, ipc)
        return overrides, f"He et al. 2024 (MDC) on IDC; {source}"

    def _step(self) -> tuple[float, tuple[float, ...], dict[str, float]]:
        measure = self.ipc > 1 and (self.iteration == 0 or (self.iteration + 1) % self.config.delta_t == 0)
        probe = SubsetDistances(self.ipc) if measure else None
        frozen = frozen_size(self.earlier_mls, self.mls)
        loss, class_losses, extra = self.base.matching_step(self.mls or None, frozen, probe)
        record = {"mls": float(self.mls), "frozen": float(frozen)}  # the selection timeline
        if probe is not None:
            self._select(probe.mean())
            record["selected"] = float(self.mls)
        return loss, class_losses, {**extra, **record}

    def _select(self, distances: Tensor) -> None:
        """n* from the change of F since the last selection; the old MLS becomes freezable."""
        new_mls = select_mls(self.prev_distances, distances)
        if self.mls and self.mls not in self.earlier_mls:
            self.earlier_mls.append(self.mls)
        self.mls, self.prev_distances = new_mls, distances

    def synthetic_set(self) -> SyntheticSet:
        """The base's set (e.g. with idc's formation factor), labelled as MDC's."""
        return dataclasses.replace(self.base.synthetic_set(), method=self.name, config=self.config.to_dict())

    def _extra_state(self) -> dict[str, Any]:
        return {"mls": self.mls, "earlier_mls": list(self.earlier_mls), "prev_distances": self.prev_distances}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.mls = int(state.get("mls", 0))
        self.earlier_mls = [int(m) for m in state.get("earlier_mls", [])]
        prev = state.get("prev_distances")
        self.prev_distances = None if prev is None else prev.clone()
