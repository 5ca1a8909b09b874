"""A run directory: everything one condensation (or coreset selection) produced.

Layout::

    <root>/<run_id>/
        config.json        what was run (dataset, method, ipc, seed, device, config, protocol)
        status.json        status ('queued'|'running'|'paused'|'stopped'|'finished'|'failed'), message
        metrics.jsonl      one JSON object per logged iteration (and 'eval' records)
        snapshots/it_00000100.pt   images (CPU tensor) at that iteration, for scrubbing/GIF
        checkpoint.pt      method.state_dict() of the last good step, for resume
        final.pt           the SyntheticSet (see serialize.py)

All whole-file writes are atomic; metrics are appended line by line.
"""
from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dclab.runs.atomic import save_torch, write_json
from dclab.runs.serialize import synthetic_from_dict, synthetic_to_dict
from dclab.synthetic import SyntheticSet

DEFAULT_RUNS_ROOT = Path("runs")
SNAPSHOT_RE = re.compile(r"it_(\d+)\.pt$")


class RunNotFoundError(FileNotFoundError):
    pass


@dataclass(frozen=True)
class RunDir:
    path: Path

    # ---- creation / discovery ---------------------------------------------
    @classmethod
    def create(cls, root: Path | str, name_hint: str) -> RunDir:
        """A new, uniquely named run folder under root (e.g. 20261121-163000_dm_digits_ipc10)."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        base = f"{time.strftime('%Y%m%d-%H%M%S')}_{re.sub(r'[^A-Za-z0-9_.-]+', '-', name_hint)}"
        for i in range(1000):
            path = root / (base if i == 0 else f"{base}-{i}")
            try:
                path.mkdir()
                return cls(path)
            except FileExistsError:
                continue
        raise RuntimeError(f"could not create a run folder under {root}")

    @classmethod
    def open(cls, path: Path | str) -> RunDir:
        path = Path(path)
        if not (path / "config.json").is_file():
            raise RunNotFoundError(f"{path} is not a dclab run folder (no config.json)")
        return cls(path)

    @staticmethod
    def list(root: Path | str) -> list[RunDir]:
        """All runs under root, newest first."""
        root = Path(root)
        if not root.is_dir():
            return []
        runs = [RunDir(p) for p in root.iterdir() if (p / "config.json").is_file()]
        return sorted(runs, key=lambda r: r.path.name, reverse=True)

    @property
    def run_id(self) -> str:
        return self.path.name

    # ---- config / status ----------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> None:
        write_json(self.path / "config.json", config)

    def read_config(self) -> dict[str, Any]:
        return json.loads((self.path / "config.json").read_text())

    def write_status(self, status: str, message: str = "", **fields: Any) -> None:
        write_json(self.path / "status.json", {"status": status, "message": message,
                                               "updated": time.time(), **fields})

    def read_status(self) -> dict[str, Any]:
        p = self.path / "status.json"
        return json.loads(p.read_text()) if p.is_file() else {"status": "unknown", "message": ""}

    # ---- metrics -----------------------------------------------------------
    def append_metrics(self, record: dict[str, Any]) -> None:
        with open(self.path / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record, default=float) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        p = self.path / "metrics.jsonl"
        if not p.is_file():
            return []
        out = []
        for line in p.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a crash
                continue
        return out

    def truncate_metrics(self, after_iteration: int) -> None:
        """Drop records past `after_iteration` (on resume from an older checkpoint)."""
        keep = [r for r in self.read_metrics() if int(r.get("iteration", 0)) <= after_iteration]
        write_json_lines(self.path / "metrics.jsonl", keep)

    # ---- snapshots ----------------------------------------------------------
    def save_snapshot(self, iteration: int, images: torch.Tensor) -> None:
        save_torch(self.path / "snapshots" / f"it_{iteration:08d}.pt", images.detach().cpu().clone())

    def snapshot_iterations(self) -> list[int]:
        d = self.path / "snapshots"
        if not d.is_dir():
            return []
        return sorted(int(m.group(1)) for p in d.iterdir() if (m := SNAPSHOT_RE.search(p.name)))

    def load_snapshot(self, iteration: int) -> torch.Tensor:
        return torch.load(self.path / "snapshots" / f"it_{iteration:08d}.pt", weights_only=True)

    def truncate_snapshots(self, after_iteration: int) -> None:
        """Delete snapshots past `after_iteration` (on resume from an older checkpoint)."""
        for it in self.snapshot_iterations():
            if it > after_iteration:
                (self.path / "snapshots" / f"it_{it:08d}.pt").unlink(missing_ok=True)

    def iter_snapshots(self) -> Iterator[tuple[int, torch.Tensor]]:
        for it in self.snapshot_iterations():
            yield it, self.load_snapshot(it)

    # ---- checkpoint / final -------------------------------------------------
    def save_checkpoint(self, state: dict[str, Any]) -> None:
        save_torch(self.path / "checkpoint.pt", state)

    def has_checkpoint(self) -> bool:
        return (self.path / "checkpoint.pt").is_file()

    def load_checkpoint(self) -> dict[str, Any]:
        return torch.load(self.path / "checkpoint.pt", weights_only=False, map_location="cpu")

    def save_final(self, synthetic: SyntheticSet) -> None:
        save_torch(self.path / "final.pt", synthetic_to_dict(synthetic))

    def has_final(self) -> bool:
        return (self.path / "final.pt").is_file()

    def load_final(self) -> SyntheticSet:
        return synthetic_from_dict(torch.load(self.path / "final.pt", weights_only=True))

    def delete(self) -> None:
        shutil.rmtree(self.path)


def write_json_lines(path: Path, records: list[dict[str, Any]]) -> None:
    from dclab.runs.atomic import atomic_write

    atomic_write(path, lambda p: p.write_text("".join(json.dumps(r, default=float) + "\n" for r in records)))
