"""What to run: `RunSpec` (the request, as the app/CLI states it) and `PreparedRun` (it validated).

`prepare(spec)` does every check a user can fail (unknown data set/method/preset/setting, IPC
larger than the smallest class, bad device) synchronously, so `JobManager.submit` and the CLI
raise one clear line before any thread starts. The same `PreparedRun` builds the method, the
evaluation protocol and the run folder's config.json, for fresh runs and for resumed ones.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from dclab.augment.dsa import resolve_dsa_strategy
from dclab.config import ConfigError
from dclab.data import DatasetBundle, load_dataset
from dclab.device import resolve_device
from dclab.distributed.shard import rank_shards
from dclab.eval.protocol import EvalProtocol
from dclab.eval.published import resolve_settings
from dclab.methods import CondensationMethod, MethodConfig, get_method
from dclab.nets import NETS
from dclab.presets import DEFAULT_EVAL_PRESET, default_preset
from dclab.runs.record import DatasetInfo

SNAPSHOTS_PER_RUN = 50  # auto snapshot_every ≈ iterations / 50
CHECKPOINTS_PER_RUN = 20  # auto checkpoint_every ≈ iterations / 20
MAX_LABEL_BYTES = 100  # a folder name is at most 255 bytes; the rest is time, method, data set, IPC


@dataclass(frozen=True)
class RunSpec:
    """One condensation request. `overrides` and `eval_protocol` values may be strings (from forms/--set)."""

    dataset: str
    method: str
    ipc: int
    seed: int = 0
    device: str = "auto"
    preset: str | None = None  # None: 'cpu' on a CPU, 'paper' on a GPU (when the method has them)
    overrides: dict[str, Any] = field(default_factory=dict)  # method config settings
    iterations: int | None = None  # shortcut for overrides["iterations"]
    eval_every: int = 0  # evaluate every K iterations (0 = off)
    eval_protocol: dict[str, Any] = field(default_factory=dict)  # {"preset": "quick", **EvalProtocol settings}
    snapshot_every: int = 0  # 0 = auto (about 50 snapshots per run)
    checkpoint_every: int = 0  # 0 = auto (about 20 checkpoints per run)
    data_root: str | None = None
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def auto_interval(requested: int, total: int, per_run: int) -> int:
    """`requested` if > 0, else about `total / per_run` (at least 1)."""
    return requested if requested > 0 else max(1, round(total / per_run))


def build_protocol(settings: Mapping[str, Any]) -> EvalProtocol:
    """EvalProtocol from {"preset": name (default 'quick'), **overrides}."""
    settings = dict(settings)
    preset = settings.pop("preset", DEFAULT_EVAL_PRESET)
    return EvalProtocol.build(preset, settings)


@dataclass(frozen=True)
class PreparedRun:
    """A validated RunSpec: data loaded, device chosen, method config and protocol built."""

    spec: RunSpec
    data: DatasetBundle
    method_class: type[CondensationMethod]
    config: MethodConfig
    preset: str | None  # the preset actually applied
    device: torch.device
    protocol: EvalProtocol
    snapshot_every: int
    checkpoint_every: int

    @property
    def total_iterations(self) -> int:
        return self.config.iterations

    @property
    def name_hint(self) -> str:
        """Run folder name suffix, e.g. dm_digits_ipc10[_label]."""
        base = f"{self.method_class.name}_{self.data.name}_ipc{self.spec.ipc}"
        return f"{base}_{self.spec.label}" if self.spec.label else base

    def build_method(self) -> CondensationMethod:
        return self.method_class(self.data, self.spec.ipc, self.config, self.spec.seed, self.device)

    def value_sources(self) -> dict[str, str]:
        """Where each config value came from: 'default', 'preset <name>' or 'set'."""
        overrides = self._overrides()
        presets = self.method_class.config_class.PRESETS
        preset_values = presets.get(self.preset, {}) if self.preset else {}
        out = {}
        for f in self.config.fields_info():
            if f.name in overrides:
                out[f.name] = "set"
            elif f.name in preset_values:
                out[f.name] = f"preset {self.preset}"
            else:
                out[f.name] = "default"
        return out

    def config_json(self) -> dict[str, Any]:
        """The run folder's config.json (see docs/ARCHITECTURE.md, jobs contract)."""
        return {
            "spec": self.spec.to_dict(),
            "dataset": DatasetInfo.of(self.data).to_json(),
            "method": self.method_class.name,
            "config": self.config.to_dict(),
            "preset": self.preset,
            "ipc": self.spec.ipc,
            "seed": self.spec.seed,
            "device": str(self.device),
            "eval_protocol": self.protocol.to_dict(),
            "snapshot_every": self.snapshot_every,
            "checkpoint_every": self.checkpoint_every,
        }

    def _overrides(self) -> dict[str, Any]:
        return method_overrides(self.spec)


def method_overrides(spec: RunSpec) -> dict[str, Any]:
    """spec.overrides plus the `iterations` shortcut."""
    overrides = dict(spec.overrides)
    if spec.iterations is not None:
        overrides["iterations"] = spec.iterations
    return overrides


def check_named_settings(config: MethodConfig, dataset_name: str) -> None:
    """Settings that name something (a network, DSA ops) are checked now, not inside the worker."""
    if isinstance(getattr(config, "net", None), str):
        NETS.get(config.net)  # UnknownNameError lists the networks
    if isinstance(getattr(config, "dsa_strategy", None), str):
        resolve_dsa_strategy(config.dsa_strategy, dataset_name)


def prepare(spec: RunSpec, stored: Mapping[str, Any] | None = None) -> PreparedRun:
    """Validate `spec` and resolve everything a run needs; raises a one-line user error.

    `stored` (a resumed run's config.json) supplies the method config and preset instead of
    rebuilding them, so a resumed run continues with exactly the settings it started with.
    """
    if not isinstance(spec.ipc, int) or spec.ipc < 1:
        raise ConfigError(f"IPC must be a positive integer, got {spec.ipc!r}")
    for name in ("eval_every", "snapshot_every", "checkpoint_every"):
        if getattr(spec, name) < 0:
            raise ConfigError(f"{name} must be >= 0, got {getattr(spec, name)}")
    if spec.iterations is not None and spec.iterations < 1:
        raise ConfigError(f"iterations must be >= 1, got {spec.iterations}")
    if len(spec.label.encode()) > MAX_LABEL_BYTES:
        raise ConfigError(f"label is {len(spec.label.encode())} bytes; at most {MAX_LABEL_BYTES} "
                          f"(it becomes part of the run folder's name)")
    method_class = get_method(spec.method)  # UnknownNameError lists the methods
    try:
        device = resolve_device(spec.device)  # ValueError when e.g. cuda is absent
    except RuntimeError:  # torch.device("banana")
        raise ConfigError(f"unknown device {spec.device!r}; use auto, cpu, cuda, cuda:N or mps") from None
    data = load_dataset(spec.dataset, root=spec.data_root)  # UnknownNameError / DatasetUnavailableError
    data.check_ipc(spec.ipc)
    config_class = method_class.config_class
    if stored is not None:
        preset, config = stored.get("preset"), config_class.build(None, stored["config"])
    else:
        preset = spec.preset if spec.preset is not None else default_preset(device, config_class)
        config = config_class.build(preset, method_overrides(spec))
    check_named_settings(config, data.name)
    rank_shards(data.num_classes, method_class.name, method_class.rank_split(config))  # torchrun: can it split?
    protocol = resolve_settings(spec.eval_protocol, method=method_class.name, dataset=data.name, ipc=spec.ipc,
                                default_preset=DEFAULT_EVAL_PRESET, device=device)
    NETS.get(protocol.net)
    total = config.iterations
    return PreparedRun(
        spec=spec,
        data=data,
        method_class=method_class,
        config=config,
        preset=preset,
        device=device,
        protocol=protocol,
        snapshot_every=auto_interval(spec.snapshot_every, total, SNAPSHOTS_PER_RUN),
        checkpoint_every=auto_interval(spec.checkpoint_every, total, CHECKPOINTS_PER_RUN),
    )
