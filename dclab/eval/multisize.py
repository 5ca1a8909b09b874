"""Subset-accuracy curves: how well every prefix S[n] (n images per class) of a set trains a net.

MDC's evaluation (He et al. 2024): one condensation of IPC N should serve n = 1..N. Its baselines,
all evaluated here under ONE protocol by `multisize_curves`:
  A  separate condensations, one per size n (a point wherever such a run exists);
  B  N independent IPC-1 condensations concatenated: S_B[n] = the first n of them;
  C  the prefixes S[n] of one ordinary (non-multisize) IPC-N condensation.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from dclab.data.bundle import DatasetBundle
from dclab.eval.protocol import EvalProtocol
from dclab.eval.result import EvalResult
from dclab.progress import Progress
from dclab.synthetic import SyntheticSet

MULTISIZE = "MDC"
BASELINE_A = "A: separate runs"
BASELINE_B = "B: concatenated IPC-1 runs"
BASELINE_C = "C: prefixes of a plain run"


def subset_accuracy_curve(
    synthetic: SyntheticSet,
    data: DatasetBundle,
    protocol: EvalProtocol,
    device: str | torch.device = "auto",
    progress: Progress | None = None,
    sizes: Sequence[int] | None = None,
    **evaluate_options: Any,
) -> list[EvalResult]:
    """Evaluate `synthetic.prefix(n)` for each n in `sizes` (default 1..ipc), in that order.

    progress(done, total) spans the whole curve (each size counts as one equal share).
    Extra keyword options go to `evaluate_synthetic` (e.g. net_options, stop).
    Raises ValueError (one line) for a size outside 1..ipc.
    """
    from dclab.eval.evaluate import evaluate_synthetic  # evaluation stack is only needed here

    sizes = list(range(1, synthetic.ipc + 1)) if sizes is None else [int(n) for n in sizes]
    for n in sizes:
        if not 1 <= n <= synthetic.ipc:
            raise ValueError(f"subset size must be in 1..{synthetic.ipc}, got {n}")
    results = []
    for i, n in enumerate(sizes):
        inner = None
        if progress is not None:
            def inner(done: int, total: int, i: int = i) -> None:
                progress(i * total + done, len(sizes) * total)
        results.append(evaluate_synthetic(synthetic.prefix(n), data, protocol, device, inner, **evaluate_options))
    return results


def concatenate_ipc1(sets: Sequence[SyntheticSet]) -> SyntheticSet:
    """Baseline B: N independent IPC-1 sets -> one IPC-N set whose image i of class c is set i's.

    All sets must be IPC 1 of the same data set and formation factor; ValueError otherwise.
    """
    if not sets:
        raise ValueError("baseline B needs at least one IPC-1 set")
    first = sets[0]
    for s in sets:
        if s.ipc != 1 or s.dataset != first.dataset or s.formation_factor != first.formation_factor:
            raise ValueError("baseline B needs IPC-1 sets of one data set and formation factor")
    images = torch.stack([s.images.detach().cpu() for s in sets], dim=1)  # (classes, N, C, H, W)
    labels = torch.stack([s.labels.cpu() for s in sets], dim=1)  # (classes, N)
    return replace(first, images=images.flatten(0, 1), labels=labels.flatten(), soft_labels=None,
                   method=f"{first.method} x{len(sets)} (IPC-1)", seed=None)


@dataclass(frozen=True)
class CurvePoint:
    n: int  # images per class (stored images for a multi-formation set)
    result: EvalResult


def multisize_curves(
    data: DatasetBundle,
    protocol: EvalProtocol,
    multisize: SyntheticSet | None = None,
    *,
    baseline_c: SyntheticSet | None = None,
    ipc1_sets: Sequence[SyntheticSet] = (),
    separate: Mapping[int, SyntheticSet] | None = None,
    sizes: Sequence[int] | None = None,
    device: str | torch.device = "auto",
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    **evaluate_options: Any,
) -> dict[str, list[CurvePoint]]:
    """The subset-accuracy curve of a multisize set and of baselines A, B and C, one protocol.

    multisize, baseline_c: IPC-N sets (curves over their prefixes); ipc1_sets: baseline B's
    independent IPC-1 sets (its curve has len(ipc1_sets) points); separate: baseline A, {n: set of
    IPC n}. sizes restricts every curve to those n. Curves that were not given are left out.
    progress(done, total) spans all curves; a set `stop` ends between evaluations.
    """
    from dclab.eval.evaluate import evaluate_synthetic

    jobs: list[tuple[str, int, SyntheticSet]] = []  # (curve, n, set to evaluate)
    wanted = None if sizes is None else {int(n) for n in sizes}

    def add_prefixes(label: str, s: SyntheticSet) -> None:
        jobs.extend((label, n, s.prefix(n)) for n in range(1, s.ipc + 1) if wanted is None or n in wanted)

    if multisize is not None:
        add_prefixes(MULTISIZE, multisize)
    if ipc1_sets:
        add_prefixes(BASELINE_B, concatenate_ipc1(ipc1_sets))
    if baseline_c is not None:
        add_prefixes(BASELINE_C, baseline_c)
    for n, s in sorted((separate or {}).items()):
        if wanted is None or n in wanted:
            jobs.append((BASELINE_A, n, s))
    curves: dict[str, list[CurvePoint]] = {}
    for i, (label, n, s) in enumerate(jobs):
        if stop is not None and stop.is_set():
            break
        inner = None
        if progress is not None:
            def inner(done: int, total: int, i: int = i) -> None:
                progress(i * total + done, len(jobs) * total)
        result = evaluate_synthetic(s, data, protocol, device, inner, stop=stop, **evaluate_options)
        curves.setdefault(label, []).append(CurvePoint(n, result))
    return curves


def average_gain(curves: Mapping[str, Sequence[CurvePoint]], over: str = BASELINE_C,
                 of: str = MULTISIZE) -> float | None:
    """Mean over the common sizes n of acc(of, n) − acc(over, n); None without common sizes."""
    a = {p.n: p.result.mean for p in curves.get(of, ())}
    b = {p.n: p.result.mean for p in curves.get(over, ())}
    common = sorted(set(a) & set(b))
    if not common:
        return None
    return sum(a[n] - b[n] for n in common) / len(common)
