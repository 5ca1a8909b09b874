"""One set's accuracy: a run's images, or a coreset selected when the plan runs, under the protocol
one set of settings names for it, and optionally the same set on other networks (cross-architecture).

The plan behind the Evaluate page and `python -m dclab evaluate`. `plan_evaluation` checks
everything (network names, coreset name and IPC, the protocol, the images' shape) before any work;
`EvaluationPlan.run(progress, stop)` selects the coreset if there is one, trains the K networks,
then the cross-architecture networks. With the preset `published` (the default) the set is judged
by its own method's (or coreset's) published protocol, scaled on a CPU.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from dclab.data.bundle import DatasetBundle
from dclab.eval.protocol import PUBLISHED, EvalProtocol
from dclab.eval.published import resolve_settings
from dclab.eval.result import EvalResult
from dclab.progress import Progress
from dclab.synthetic import SyntheticSet

STAGE_UNITS = 1000  # progress units per stage (selection, evaluation, cross-architecture)


@dataclass(frozen=True)
class CoresetChoice:
    """A coreset to select from the data set's training images when the plan runs."""

    name: str
    ipc: int
    seed: int = 0

    def describe(self, dataset: str) -> str:
        return f"{self.name} coreset, {dataset}, IPC {self.ipc}, seed {self.seed}"


@dataclass(frozen=True)
class SetAccuracy:
    """The set's accuracy under the protocol, and on each cross-architecture network."""

    what: str
    method: str
    dataset: str
    ipc: int
    result: EvalResult
    cross: dict[str, EvalResult] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = self.result.to_dict()
        if self.cross:
            out["cross_arch"] = {net: r.to_dict() for net, r in self.cross.items()}
        return out

    def lines(self) -> list[str]:
        """The result as text: the set and its number with the protocol, then one line per network."""
        head = f"{self.method} on {self.dataset}, IPC {self.ipc}: {self.result.summary()}"
        return [head, *(f"  {net}: {r.summary()}" for net, r in self.cross.items())]


@dataclass(frozen=True)
class EvaluationPlan:
    """A checked evaluation: `run()` only selects, trains and tests."""

    what: str
    data: DatasetBundle
    protocol: EvalProtocol
    synthetic: SyntheticSet | None = None  # the images to evaluate, or
    coreset: CoresetChoice | None = None  # the coreset to select first
    cross: tuple[str, ...] = ()
    device: str | torch.device = "auto"

    @property
    def stages(self) -> int:
        return (self.coreset is not None) + 1 + bool(self.cross)

    def run(self, progress: Progress | None = None, stop: threading.Event | None = None) -> SetAccuracy:
        """Select (a coreset), evaluate, then cross-architecture; a set `stop` ends after the current
        network (the result is marked stopped, and the cross-architecture stage is skipped)."""
        from dclab.coresets import select_coreset
        from dclab.eval.evaluate import evaluate_cross_arch, evaluate_synthetic

        stage = iter(range(self.stages))
        synthetic = self.synthetic
        if self.coreset is not None:
            synthetic = select_coreset(self.coreset.name, self.data, self.coreset.ipc, seed=self.coreset.seed,
                                       device=self.device, progress=_stage(progress, next(stage), self.stages))
        assert synthetic is not None  # plan_evaluation gives one of the two
        result = evaluate_synthetic(synthetic, self.data, self.protocol, self.device,
                                    _stage(progress, next(stage), self.stages), stop=stop)
        cross: dict[str, EvalResult] = {}
        if self.cross and not (stop is not None and stop.is_set()):
            cross = evaluate_cross_arch(synthetic, self.data, self.protocol, list(self.cross), self.device,
                                        _stage(progress, next(stage), self.stages))
        return SetAccuracy(self.what, synthetic.method, self.data.name, synthetic.ipc, result, cross)


def _stage(progress: Progress | None, index: int, stages: int) -> Progress | None:
    """Helper: a stage's own (done, total) reported as its share of the whole plan."""
    if progress is None:
        return None
    return lambda done, total: progress(index * STAGE_UNITS + STAGE_UNITS * done // max(total, 1),
                                        stages * STAGE_UNITS)


def plan_evaluation(
    data: DatasetBundle,
    settings: Mapping[str, Any] | None = None,
    *,
    synthetic: SyntheticSet | None = None,
    coreset: CoresetChoice | None = None,
    what: str = "",
    cross: Sequence[str] = (),
    device: str | torch.device = "auto",
) -> EvaluationPlan:
    """Check and plan the evaluation of `synthetic`, or of `coreset` selected from `data`.

    settings: {"preset": name (default published), **EvalProtocol field overrides}. Raises a
    one-line error (UnknownNameError, ConfigError, ValueError) on a bad network, coreset, IPC,
    setting, or images that do not fit the data set."""
    from dclab.coresets import CORESETS
    from dclab.nets import NETS

    if (synthetic is None) == (coreset is None):
        raise ValueError("give either a synthetic set or a coreset to select, not both")
    for net in cross:
        NETS.get(net)
    if coreset is not None:
        CORESETS.get(coreset.name)
        data.check_ipc(coreset.ipc)
        method, ipc, what = coreset.name, coreset.ipc, what or coreset.describe(data.name)
    else:
        assert synthetic is not None
        if tuple(synthetic.images.shape[1:]) != data.shape:
            raise ValueError(f"images of shape {tuple(synthetic.images.shape[1:])} do not fit "
                             f"{data.name} {data.shape}")
        method, ipc, what = synthetic.method, synthetic.ipc, what or f"{synthetic.method}, IPC {synthetic.ipc}"
    protocol = resolve_settings(settings or {}, method=method, dataset=data.name, ipc=ipc,
                                default_preset=PUBLISHED, device=device)
    NETS.get(protocol.net)
    return EvaluationPlan(what, data, protocol, synthetic, coreset, tuple(cross), device)
