"""Helper of the analyses: a run's record, current images and data set, loaded once (not an analysis)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dclab.data.bundle import DatasetBundle
from dclab.runs.reader import run_dataset, run_images
from dclab.runs.record import RunRecord, read_record
from dclab.runs.store import RunDir
from dclab.synthetic import SyntheticSet


@dataclass(frozen=True)
class LoadedRun:
    record: RunRecord
    synthetic: SyntheticSet
    source: str  # which file the images came from, e.g. "final.pt (iteration 300)"

    @property
    def run_id(self) -> str:
        return self.record.run_id


def load_runs(runs: Sequence[RunDir]) -> list[LoadedRun]:
    """Every run's record and newest good images; one-line errors for a broken run or a repeated one."""
    ids = [r.run_id for r in runs]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"run(s) given twice: {', '.join(repeated)}")
    out = []
    for run in runs:
        synthetic, source = run_images(run)
        out.append(LoadedRun(read_record(run), synthetic, source))
    return out


class DatasetCache:
    """Each data set loaded once per analysis (runs of one data set share its bundle)."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root
        self._loaded: dict[str, DatasetBundle] = {}

    def of(self, run: LoadedRun) -> DatasetBundle:
        name = run.record.dataset.name
        if name not in self._loaded:
            self._loaded[name] = run_dataset(run.record, root=self.root)
        return self._loaded[name]
