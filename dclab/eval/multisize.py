"""Subset-accuracy curve: how well every prefix S[n] (n images per class) of one set trains a net.

This is MDC's evaluation: one condensation of IPC N should serve n = 1..N; the curve also shows
how an ordinary (non-multisize) set degrades when only its first n images are used.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from dclab.data.bundle import DatasetBundle
from dclab.eval.protocol import EvalProtocol
from dclab.eval.result import EvalResult
from dclab.synthetic import SyntheticSet

Progress = Callable[[int, int], None]


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
