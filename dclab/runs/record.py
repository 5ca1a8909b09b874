"""`RunRecord`: a run folder's config.json as one typed, checked object (the only reader of its keys).

Views, exports, analyses and the CLI read a run's method, data set, IPC and settings through
`read_record(run)`, never by indexing the raw dict. Settings saved under an old name (see
`dclab.config.RENAMED_SETTINGS`) come back under the current one, so old runs read like new ones.
A config.json that lacks what a run needs raises `CorruptRunError` with one line naming the file.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dclab.config import current_names
from dclab.runs.store import CorruptRunError, RunDir


@dataclass(frozen=True)
class DatasetInfo:
    """What a run stores about its data set: enough to draw and export its images without loading it."""

    name: str
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    shape: tuple[int, ...] | None  # (C, H, W); None in runs written before it was stored

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    method: str
    dataset: DatasetInfo
    ipc: int
    seed: int | None = None
    preset: str | None = None
    device: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)  # the method config, current names
    eval_protocol: Mapping[str, Any] = field(default_factory=dict)
    spec: Mapping[str, Any] = field(default_factory=dict)  # the RunSpec it was started with

    @property
    def iterations(self) -> int | None:
        value = self.settings.get("iterations")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def base_method(self) -> str:
        """The matching method a run's images come from: MDC's `base` (default idc), else the method."""
        if self.method == "mdc":
            return str(self.settings.get("base") or "idc")
        return self.method

    def describe(self) -> str:
        """One line for a table or a column heading: method · data set · IPC · seed."""
        return f"{self.method} · {self.dataset.name} · IPC {self.ipc} · seed {self.seed}"

    @classmethod
    def from_json(cls, run_id: str, cfg: Mapping[str, Any], where: str = "config.json") -> RunRecord:
        """Check and type a config.json dict; CorruptRunError (one line) when a needed part is missing."""
        ds, ipc = cfg.get("dataset"), cfg.get("ipc")
        if (not isinstance(ds, dict) or not isinstance(ds.get("name"), str)
                or not isinstance(ds.get("class_names"), list) or not ds["class_names"]
                or not isinstance(ds.get("mean"), list) or not isinstance(ds.get("std"), list)
                or not isinstance(ipc, int) or isinstance(ipc, bool)):
            raise CorruptRunError(f"{where}: not a dclab run config (needs dataset name/class_names/mean/std and ipc)")
        shape = ds.get("shape")
        info = DatasetInfo(name=ds["name"], class_names=tuple(str(c) for c in ds["class_names"]),
                           mean=tuple(float(m) for m in ds["mean"]), std=tuple(float(s) for s in ds["std"]),
                           shape=tuple(int(v) for v in shape) if isinstance(shape, list) else None)
        seed = cfg.get("seed")
        return cls(
            run_id=run_id, method=str(cfg.get("method", "unknown")), dataset=info, ipc=ipc,
            seed=seed if isinstance(seed, int) else None,
            preset=cfg.get("preset") if isinstance(cfg.get("preset"), str) else None,
            device=str(cfg.get("device", "")),
            settings=current_names(_mapping(cfg.get("config"))),
            eval_protocol=_mapping(cfg.get("eval_protocol")),
            spec=_mapping(cfg.get("spec")),
        )


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def read_record(run: RunDir) -> RunRecord:
    """The run's config.json as a `RunRecord` (CorruptRunError when it is broken)."""
    return RunRecord.from_json(run.run_id, run.read_config(), str(run.path / "config.json"))
