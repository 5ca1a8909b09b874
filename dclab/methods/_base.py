"""The stepwise interface every condensation method implements.

A method is built from (data, ipc, config, seed, device); `step()` advances one iteration and
returns `StepMetrics`; `synthetic_set()` is readable at any time; `state_dict()` /
`load_state_dict()` cover images, optimiser, iteration and random state, so a resumed run ends
with exactly the images of an uninterrupted one.

All randomness flows from `self.generator` (a seeded CPU torch.Generator): real-batch sampling,
DSA draws, and network initialisation (via `self.new_net()`, which seeds from the generator).
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from dclab.config import BaseConfig, ConfigError, setting
from dclab.data.bundle import DatasetBundle
from dclab.device import conv_layout, prefers_batched, resolve_device
from dclab.distributed.shard import rank_shards
from dclab.nets import NETS, accepted_options, get_net
from dclab.nets.layers import NORMS
from dclab.presets import default_preset
from dclab.registry import Registry
from dclab.seeding import derive_seed, make_generator
from dclab.synthetic import SyntheticSet, class_major_labels

METHODS: Registry[type[CondensationMethod]] = Registry("method")
NET_SETTINGS = ("norm", "width", "depth")  # config fields that are options of the matching network


def get_method(name: str) -> type[CondensationMethod]:
    return METHODS.get(name)


def list_methods() -> list[str]:
    return METHODS.names()


@dataclass(frozen=True)
class MethodConfig(BaseConfig):
    """Settings every method has. Subclasses add their own fields (all with defaults)."""

    iterations: int = setting(1000, "number of condensation iterations (outer steps)", min=1)
    net: str = setting("convnet", "network used for matching")
    norm: str = setting(
        "instancenorm",
        "normalisation layer of the network",
        choices=NORMS,
    )
    init: str = setting("real", "initial synthetic images: random real images or noise", choices=("real", "noise"))
    lr_img: float = setting(0.1, "learning rate of the synthetic images (SGD)", min=0.0)
    momentum_img: float = setting(0.5, "momentum of the image optimiser", min=0.0, max=1.0)
    batch_real: int = setting(256, "real images per class per iteration", min=1)

    # preset name -> its source (paper table or the authors' README command), shown in its help
    PRESET_SOURCES: ClassVar[Mapping[str, str]] = {}

    def net_options(self) -> dict[str, Any]:
        """The config's network settings (norm, and width/depth where it has them) that `net` takes,
        read from the net's signature: a ConvNet gets all, LeNet none."""
        values = {k: getattr(self, k) for k in NET_SETTINGS if hasattr(self, k)}
        return accepted_options(self.net, values) if self.net in NETS else values


@dataclass(frozen=True)
class StepMetrics:
    iteration: int  # iterations completed after this step (1-based)
    loss: float
    class_losses: tuple[float, ...]  # per-class loss (empty where not defined)
    seconds: float  # wall time of this step
    extra: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "loss": self.loss,
            "class_losses": list(self.class_losses),
            "seconds": self.seconds,
            **self.extra,
        }


def init_images(data: DatasetBundle, ipc: int, mode: str, seed: int) -> Tensor:
    """Initial synthetic images, class-major (num_classes*ipc, C, H, W).

    Uses its own generator from `seed`, so two methods with the same seed start from the same
    images (the Compare page relies on this).
    """
    gen = make_generator(seed)
    if mode == "real":
        data.check_ipc(ipc)
        imgs = data.sample_per_class(ipc, gen)  # (classes, ipc, C, H, W)
        return imgs.reshape(-1, *data.shape).clone()
    if mode == "noise":
        return torch.randn((data.num_classes * ipc, *data.shape), generator=gen)
    raise ConfigError(f"unknown init {mode!r}; choose 'real' or 'noise'")


class CondensationMethod(ABC):
    """Base class. Subclasses set `name`, `config_class` and implement `_step`."""

    name: ClassVar[str]
    config_class: ClassVar[type[MethodConfig]] = MethodConfig
    description: ClassVar[str] = ""

    def __init__(
        self,
        data: DatasetBundle,
        ipc: int,
        config: MethodConfig | None = None,
        seed: int = 0,
        device: str | torch.device = "auto",
    ) -> None:
        if ipc < 1:
            raise ConfigError(f"IPC must be at least 1, got {ipc}")
        self.device = resolve_device(device)
        self.config = config if config is not None else self.config_class.build(default_preset(self.device, self.config_class))
        if not isinstance(self.config, self.config_class):
            raise ConfigError(f"{self.name} needs a {self.config_class.__name__}, got {type(self.config).__name__}")
        # under torchrun: this rank's block of classes or batch rows (all of them in one process;
        # dclab/distributed/shard.py)
        self.shard, self.batch_shard = rank_shards(data.num_classes, self.name, self.rank_split(self.config))
        self.data = data.to(self.device)
        self.ipc = ipc
        self.seed = seed
        self.generator = make_generator(seed)
        self.iteration = 0
        self.labels = class_major_labels(data.num_classes, ipc, self.device)
        self.images = init_images(data, ipc, self.config.init, seed).to(self.device).requires_grad_(True)
        self.optimizer = torch.optim.SGD([self.images], lr=self.image_lr(), momentum=self.config.momentum_img)
        # generator stream for everything after init
        self.generator.manual_seed(seed + 1)

    @classmethod
    def published_protocol(cls, dataset: str, ipc: int) -> tuple[dict[str, Any], str]:
        """(EvalProtocol field overrides, source) of the evaluation behind this method's published numbers.

        The base is the plain protocol of the DC line of work: ConvNet, 300 epochs, no augmentation.
        `dclab.eval.published.resolve_protocol` turns it into a protocol (and scales it on a CPU).
        """
        return ({"net": "convnet", "epochs": 300, "augment": "none"},
                "DC paper (Zhao et al., ICLR 2021) §4: ConvNet, 300 epochs, no augmentation")

    # ---- hooks -------------------------------------------------------------
    @classmethod
    def rank_split(cls, config: MethodConfig) -> str | None:
        """How ranks (torchrun) may divide the work: "classes" when the per-class losses are
        independent, "batch" when the loss is a mean over a batch, None when neither holds."""
        return None

    def image_lr(self) -> float:
        """Learning rate of the synthetic images (methods may choose it by IPC)."""
        return float(self.config.lr_img)

    @abstractmethod
    def _step(self) -> tuple[float, tuple[float, ...], dict[str, float]]:
        """One iteration: returns (loss, per-class losses, extra metrics)."""

    def _extra_state(self) -> dict[str, Any]:
        """Subclass state beyond images/optimiser/iteration/generator (e.g. learned lrs)."""
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    # ---- public API --------------------------------------------------------
    @property
    def total_iterations(self) -> int:
        return self.config.iterations

    @property
    def done(self) -> bool:
        return self.iteration >= self.total_iterations

    def step(self) -> StepMetrics:
        start = time.perf_counter()
        loss, class_losses, extra = self._step()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.iteration += 1
        return StepMetrics(self.iteration, float(loss), tuple(float(v) for v in class_losses),
                           time.perf_counter() - start, dict(extra))

    def resolve_batched(self, batched: bool | None) -> bool:
        """A `batched` setting resolved: None = the device rule (`dclab.device.prefers_batched`)."""
        return batched if batched is not None else prefers_batched(self.device)

    def new_net(self, device_layout: bool = False, **overrides: Any) -> nn.Module:
        """A freshly initialised matching network, seeded from the method's generator.

        device_layout: store it in the memory layout the device rule picks for convolution-heavy
        passes (`dclab.device.conv_layout`), for methods whose step is forward passes only (DM)."""
        opts = {**self.config.net_options(), **overrides}
        net = get_net(
            self.config.net,
            channels=self.data.channels,
            num_classes=self.data.num_classes,
            image_size=self.data.image_size,
            seed=derive_seed(self.generator),
            **opts,
        )
        net = net.to(self.device)
        return net.to(memory_format=conv_layout(self.device)) if device_layout else net

    def synthetic_set(self) -> SyntheticSet:
        return SyntheticSet(
            images=self.images.detach().cpu().clone(),
            labels=self.labels.detach().cpu().clone(),
            dataset=self.data.name,
            class_names=self.data.class_names,
            mean=self.data.mean,
            std=self.data.std,
            method=self.name,
            config=self.config.to_dict(),
            seed=self.seed,
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "method": self.name,
            "iteration": self.iteration,
            "images": self.images.detach().cpu().clone(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "extra": self._extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("method") != self.name:
            raise ValueError(f"checkpoint is for method {state.get('method')!r}, not {self.name!r}")
        with torch.no_grad():
            self.images.copy_(state["images"].to(self.device))
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.iteration = int(state["iteration"])
        self._load_extra_state(state.get("extra", {}))
