"""Subset-accuracy curves of an MDC run against its baselines A, B and C, under one protocol.

`find_baselines` picks the baseline runs of an MDC run from a runs folder (same data set, the MDC
run's base method): C = a plain run with the same IPC N, A = finished runs with 1 < IPC < N, B =
finished IPC-1 runs (the first N are concatenated). `plan_subset_curves(...).run()` evaluates every
prefix with `dclab.eval.multisize.multisize_curves`.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from dclab.analysis._runs import DatasetCache, LoadedRun, load_runs
from dclab.eval.multisize import BASELINE_C, MULTISIZE, CurvePoint, average_gain
from dclab.eval.protocol import EvalProtocol
from dclab.jobs.spec import build_protocol
from dclab.progress import Progress
from dclab.runs.reader import RunSummary, summarize_run
from dclab.runs.record import read_record
from dclab.runs.store import RunDir


@dataclass(frozen=True)
class Baselines:
    """Baseline candidates of one MDC run, as run ids."""

    base: str  # the MDC run's base method (the method of every baseline)
    c_candidates: tuple[str, ...]  # plain runs with the MDC run's IPC, newest first
    separate: dict[int, str]  # A: {n: run id} for 1 < n < N (the newest finished one per n)
    ipc1: tuple[str, ...]  # B: finished IPC-1 runs

    def to_json(self) -> dict[str, Any]:
        return {"base": self.base, "c_candidates": list(self.c_candidates),
                "separate": {str(n): r for n, r in sorted(self.separate.items())}, "ipc1": list(self.ipc1)}


def find_baselines(mdc_run: RunDir, candidates: Sequence[RunDir] | Sequence[RunSummary]) -> Baselines:
    """The baselines of `mdc_run` among `candidates` (run folders, or their summaries); newest first."""
    record = read_record(mdc_run)
    if record.method != "mdc":
        raise ValueError(f"run {record.run_id} is a {record.method} run, not an MDC run")
    summaries = [c if isinstance(c, RunSummary) else summarize_run(c) for c in candidates]
    same = [s for s in summaries if s.method == record.base_method and s.dataset == record.dataset.name
            and s.run_id != record.run_id]
    n = record.ipc
    separate = {s.ipc: s.run_id for s in reversed(same) if 1 < s.ipc < n and s.status == "finished"}
    return Baselines(base=record.base_method, c_candidates=tuple(s.run_id for s in same if s.ipc == n),
                     separate=separate, ipc1=tuple(s.run_id for s in same if s.ipc == 1 and s.status == "finished"))


@dataclass(frozen=True)
class SubsetCurves:
    curves: dict[str, list[CurvePoint]]  # curve name -> points (n, result)
    protocol_text: str

    def points(self) -> dict[str, list[tuple[int, float, float]]]:
        """{curve: [(n, mean, std), ...]}, as the subset-curve figure takes them."""
        return {name: [(p.n, p.result.mean, p.result.std) for p in pts] for name, pts in self.curves.items()}

    @property
    def gain_over_c(self) -> float | None:
        """MDC's mean accuracy gain over baseline C across their common sizes (None without both)."""
        return average_gain(self.curves, over=BASELINE_C, of=MULTISIZE)

    def to_json(self) -> dict[str, Any]:
        return {"protocol": self.protocol_text, "gain_over_c": self.gain_over_c,
                "curves": {name: [{"n": n, "mean": m, "std": s} for n, m, s in pts]
                           for name, pts in self.points().items()}}


@dataclass(frozen=True)
class SubsetCurvesPlan:
    mdc: LoadedRun
    baseline_c: LoadedRun | None
    separate: dict[int, LoadedRun]
    ipc1: tuple[LoadedRun, ...]
    protocol: EvalProtocol
    device: str | torch.device
    data_root: str | None = None
    sizes: tuple[int, ...] | None = None

    def run(self, progress: Progress | None = None, stop: threading.Event | None = None) -> SubsetCurves:
        from dclab.eval.multisize import multisize_curves

        data = DatasetCache(self.data_root).of(self.mdc)
        curves = multisize_curves(
            data, self.protocol, self.mdc.synthetic,
            baseline_c=None if self.baseline_c is None else self.baseline_c.synthetic,
            ipc1_sets=[r.synthetic for r in self.ipc1], separate={n: r.synthetic for n, r in self.separate.items()},
            sizes=self.sizes, device=self.device, progress=progress, stop=stop)
        return SubsetCurves(curves, self.protocol.describe())


def plan_subset_curves(mdc_run: RunDir, *, baseline_c: RunDir | None = None,
                       separate: Mapping[int, RunDir] | None = None, ipc1: Sequence[RunDir] = (),
                       settings: Mapping[str, Any] | None = None, sizes: Sequence[int] | None = None,
                       device: str | torch.device = "auto", data_root: str | None = None) -> SubsetCurvesPlan:
    """Read the runs and build the one protocol (`settings`: {"preset": name, **fields}, default quick)."""
    separate = dict(separate or {})
    given = [mdc_run, *([baseline_c] if baseline_c is not None else []), *separate.values(), *ipc1]
    loaded = load_runs(given)
    mdc, rest = loaded[0], loaded[1:]
    if mdc.record.method != "mdc":
        raise ValueError(f"run {mdc.run_id} is a {mdc.record.method} run, not an MDC run")
    others = [r for r in rest if r.record.dataset.name != mdc.record.dataset.name]
    if others:
        raise ValueError(f"baseline run {others[0].run_id} is on {others[0].record.dataset.name}, "
                         f"the MDC run on {mdc.record.dataset.name}")
    c = rest[0] if baseline_c is not None else None
    rest = rest[1:] if baseline_c is not None else rest
    a = dict(zip(separate, rest[:len(separate)]))
    b = tuple(rest[len(separate):])
    for n, r in a.items():
        if r.record.ipc != n:
            raise ValueError(f"baseline A run {r.run_id} has IPC {r.record.ipc}, not {n}")
    return SubsetCurvesPlan(mdc, c, a, b, build_protocol(settings or {}), device, data_root,
                            None if sizes is None else tuple(int(n) for n in sizes))
