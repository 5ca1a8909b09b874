"""`reproduce`: make one published set again (condense, or select a coreset), evaluate it under the
method's published protocol, and put the measured number beside the published one.

Budgets: `paper` = the method's `paper` preset and the full published protocol; `cpu` = the
method's `cpu` preset (fewer iterations, smaller net/batches) and the protocol scaled by
`dclab.eval.published` (K and epochs cut, said in the protocol line).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dclab.eval.protocol import PUBLISHED as PUBLISHED_PRESET
from dclab.reproduce.tables import PublishedResult, find_published

BUDGET_TEXT = {
    "paper": "the method's paper preset and the full published protocol",
    "cpu": "the method's cpu preset (fewer iterations, smaller net/batches) and the published protocol "
           "with fewer networks/epochs",
}
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ReproduceResult:
    published: PublishedResult
    budget: str
    preset: str | None  # method preset used (None for a coreset)
    iterations: int  # condensation iterations run (0 for a coreset)
    condense_seconds: float
    measured: float  # percent, mean over K nets
    measured_std: float
    protocol_text: str
    eval_seconds: float
    seed: int

    def line(self) -> str:
        made = (f"{self.iterations} iterations ({self.preset} preset) in {self.condense_seconds:.0f} s"
                if self.preset is not None else f"selected in {self.condense_seconds:.0f} s")
        p = self.published
        return (f"{p.method} {p.dataset} IPC {p.ipc} [{self.budget} budget]: measured {self.measured:.1f} ± "
                f"{self.measured_std:.1f} %  vs published {p.text()} ({p.source}{'; ' + p.note if p.note else ''})"
                f"\n  made: {made}; evaluated in {self.eval_seconds:.0f} s: {self.protocol_text}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "published": asdict(self.published)}


def reproduce(
    method: str,
    dataset: str,
    ipc: int,
    *,
    budget: str = "cpu",
    data_root: str | None = None,
    seed: int = 0,
    device: str = "auto",
    iterations: int | None = None,
    progress: Progress | None = None,
) -> ReproduceResult:
    """Condense (or select) `method` on `dataset` at `ipc`, evaluate under its published protocol."""
    from dclab.coresets import CORESETS, select_coreset
    from dclab.data import load_dataset
    from dclab.device import resolve_device
    from dclab.eval.evaluate import evaluate_synthetic
    from dclab.eval.published import resolve_protocol
    from dclab.methods import METHODS

    if budget not in BUDGET_TEXT:
        raise ValueError(f"unknown budget {budget!r}; choose one of: {', '.join(BUDGET_TEXT)}")
    published = find_published(method, dataset, ipc)  # fails before any data is loaded
    is_coreset = method in CORESETS.names()
    cls = None if is_coreset else METHODS.get(method)
    dev = resolve_device(device)
    data = load_dataset(dataset, root=data_root, download=False)
    report = progress or (lambda stage, done, total: None)
    start = time.perf_counter()
    preset: str | None = None
    done = 0
    if is_coreset:
        synthetic = select_coreset(method, data, ipc, seed=seed, device=dev,
                                   progress=lambda d, t: report("select", d, t))
    else:
        preset = budget if budget in cls.config_class.PRESETS else None
        overrides = {"iterations": iterations} if iterations is not None else {}
        condenser = cls(data, ipc, cls.config_class.build(preset, overrides), seed=seed, device=dev)
        total = condenser.total_iterations
        while not condenser.done:
            condenser.step()
            done += 1
            report("condense", done, total)
        synthetic = condenser.synthetic_set()
    condense_seconds = time.perf_counter() - start
    protocol = resolve_protocol(PUBLISHED_PRESET, method=method, dataset=data.name, ipc=ipc,
                                budget=budget, device=dev)
    result = evaluate_synthetic(synthetic, data, protocol, device=dev,
                                progress=lambda d, t: report("evaluate", d, t))
    return ReproduceResult(
        published=published, budget=budget, preset=preset, iterations=done,
        condense_seconds=condense_seconds, measured=100 * result.mean, measured_std=100 * result.std,
        protocol_text=result.protocol.describe(), eval_seconds=result.seconds, seed=seed,
    )


def append_result(path: str | Path, result: ReproduceResult) -> None:
    """Append one JSON line to the results file (its folder is created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **result.to_dict()}) + "\n")
