"""Accuracy of several runs, each under the protocol that one set of settings names.

With the preset `published` (the default) every run is judged by its own method's published
protocol (scaled on a CPU); any other preset judges all runs by one protocol. The protocol is
part of each result, so a number is never shown without it.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from dclab.analysis._runs import DatasetCache, LoadedRun, load_runs
from dclab.eval.protocol import PUBLISHED, EvalProtocol
from dclab.eval.published import resolve_settings
from dclab.eval.result import EvalResult
from dclab.progress import Progress, sub_progress
from dclab.runs.store import RunDir


@dataclass(frozen=True)
class RunAccuracy:
    run: LoadedRun
    result: EvalResult

    def to_json(self) -> dict[str, Any]:
        r, rec = self.result, self.run.record
        return {"run": rec.run_id, "method": rec.method, "dataset": rec.dataset.name, "ipc": rec.ipc,
                "images": self.run.source, "mean": r.mean, "std": r.std, "accs": list(r.accs),
                "protocol": r.protocol_text, "stopped": bool(r.extra.get("stopped", False))}


@dataclass(frozen=True)
class AccuracyPlan:
    """The runs with their protocols, checked: `run()` only trains and tests."""

    runs: tuple[LoadedRun, ...]
    protocols: tuple[EvalProtocol, ...]
    device: str | torch.device
    data_root: str | None = None

    @property
    def total(self) -> int:
        """Progress units of the whole comparison: net-epochs over all runs."""
        return sum(p.models * p.epochs for p in self.protocols)

    def run(self, progress: Progress | None = None, stop: threading.Event | None = None) -> list[RunAccuracy]:
        """Evaluate run by run; a set `stop` ends after the current evaluation (its result marked stopped)."""
        from dclab.eval.evaluate import evaluate_synthetic

        data, out, offset = DatasetCache(self.data_root), [], 0
        for loaded, protocol in zip(self.runs, self.protocols):
            result = evaluate_synthetic(loaded.synthetic, data.of(loaded), protocol, self.device,
                                        sub_progress(progress, offset, self.total), stop=stop)
            out.append(RunAccuracy(loaded, result))
            offset += protocol.models * protocol.epochs
            if stop is not None and stop.is_set():
                break
        return out


def plan_accuracy(runs: Sequence[RunDir], settings: Mapping[str, Any] | None = None, *,
                  device: str | torch.device = "auto", data_root: str | None = None) -> AccuracyPlan:
    """Read the runs and resolve each one's protocol from `settings` ({"preset": name, **fields});
    a broken run or a bad setting raises a one-line error here, before anything trains."""
    if len(runs) < 1:
        raise ValueError("compare needs at least one run")
    settings = dict(settings or {"preset": PUBLISHED})
    loaded = load_runs(runs)
    protocols = tuple(resolve_settings(settings, method=r.synthetic.method, dataset=r.synthetic.dataset,
                                       ipc=r.synthetic.ipc, device=device) for r in loaded)
    return AccuracyPlan(tuple(loaded), protocols, device, data_root)


def compare_accuracy(runs: Sequence[RunDir], settings: Mapping[str, Any] | None = None, *,
                     device: str | torch.device = "auto", data_root: str | None = None,
                     progress: Progress | None = None, stop: threading.Event | None = None) -> list[RunAccuracy]:
    """`plan_accuracy(...).run(progress, stop)`: the accuracy of every run, each with its protocol."""
    return plan_accuracy(runs, settings, device=device, data_root=data_root).run(progress, stop)
