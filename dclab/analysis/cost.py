"""Cost per iteration of a method on this device, as measured by the runs already on disk.

The explanation of a method states its cost "on this device": the median wall time of a step
(metrics.jsonl `seconds`) over the recorded runs of that method on this kind of device, per preset,
so a classroom run and a paper run are not mixed. Runs that cannot be read are skipped.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from dclab.runs.record import read_record
from dclab.runs.store import RunDir


@dataclass(frozen=True)
class IterationCost:
    method: str
    preset: str | None
    device: str  # device type: cpu, cuda, mps
    seconds: float  # median wall seconds of one iteration
    steps: int  # iterations measured
    runs: int  # runs they came from

    def describe(self) -> str:
        return (f"{self.seconds:.3g} s per iteration on {self.device} (preset {self.preset or 'none'}; median "
                f"of {self.steps} iterations in {self.runs} run{'s' if self.runs != 1 else ''})")


def iteration_costs(runs_root: Path | str, method: str, device: str) -> list[IterationCost]:
    """One entry per preset that `method` has recorded runs of on `device` (a type: 'cpu', 'cuda')."""
    by_preset: dict[str | None, tuple[list[float], int]] = {}
    for run in RunDir.list(runs_root):
        try:
            record = read_record(run)
        except ValueError:
            continue
        if record.method != method or record.device.split(":")[0] != device:
            continue
        seconds = [float(m["seconds"]) for m in run.read_metrics()
                   if "kind" not in m and isinstance(m.get("seconds"), (int, float))]
        if seconds:
            steps, count = by_preset.get(record.preset, ([], 0))
            by_preset[record.preset] = (steps + seconds, count + 1)
    return [IterationCost(method, preset, device, statistics.median(steps), len(steps), count)
            for preset, (steps, count) in sorted(by_preset.items(), key=lambda kv: str(kv[0]))]
