"""A run directory: everything one condensation (or coreset selection) produced.

Layout::

    <root>/<run_id>/
        config.json        what was run (dataset, method, ipc, seed, device, config, protocol)
        status.json        status ('queued'|'running'|'paused'|'stopped'|'finished'|'failed'), message,
                           and while a process writes the run: owner_pid, owner_host, heartbeat
        .lock              the writer's OS file lock (see lock.py): one writer per run across processes
        metrics.jsonl      one JSON object per logged iteration (and 'eval' records)
        snapshots/it_00000100.pt   images (CPU tensor) at that iteration, for scrubbing/GIF
        checkpoint.pt      method.state_dict() of the last good step, for resume
        final.pt           the SyntheticSet (see serialize.py)

All whole-file writes are atomic; metrics are appended line by line. Every read of a file that
may have been cut short or tampered with raises `CorruptRunError` (a ValueError, one line naming
the file); tensors are read with `torch.load(weights_only=True)`, so nothing in a run executes.
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

from dclab.files import safe_name, save_torch, write_json
from dclab.runs.lock import STATUS_WRITE_LOCK, RunLock, effective_status, held_here, owner_fields
from dclab.runs.serialize import synthetic_from_dict, synthetic_to_dict
from dclab.synthetic import SyntheticSet

DEFAULT_RUNS_ROOT = Path("runs")
SNAPSHOT_RE = re.compile(r"it_(\d+)\.pt$")


class RunNotFoundError(FileNotFoundError):
    pass


class CorruptRunError(ValueError):
    """A run file is missing a part, cut short, of the wrong shape or not what dclab writes."""


def load_tensor_file(path: Path, what: str = "file") -> Any:
    """torch.load(weights_only=True) of a run file; any failure is one line naming the file."""
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise CorruptRunError(f"{path}: {what} is missing") from None
    except Exception as e:  # noqa: BLE001 - junk makes torch.load fail with many types
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        if "weights_only" in first or "Unsupported global" in first:
            first = "it holds objects that are not plain tensors/numbers (refused, not executed)"
        raise CorruptRunError(f"{path}: {what} is not a readable torch file: {first[:160]}") from None


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError:
        raise CorruptRunError(f"{path}: {what} is missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise CorruptRunError(f"{path}: {what} is not valid JSON ({type(e).__name__})") from None
    if not isinstance(obj, dict):
        raise CorruptRunError(f"{path}: {what} must be a JSON object, got {type(obj).__name__}")
    return obj


def _images(obj: Any, path: Path) -> torch.Tensor:
    if not isinstance(obj, torch.Tensor) or obj.dim() != 4 or not obj.is_floating_point():
        raise CorruptRunError(f"{path}: expected a (N, C, H, W) float tensor of images")
    return obj


@dataclass(frozen=True)
class RunDir:
    path: Path

    # ---- creation / discovery ---------------------------------------------
    @classmethod
    def create(cls, root: Path | str, name_hint: str) -> RunDir:
        """A new, uniquely named run folder under root (e.g. 20261121-163000_dm_digits_ipc10)."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        base = f"{time.strftime('%Y%m%d-%H%M%S')}_{safe_name(name_hint)}"
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
        """config.json as a dict; CorruptRunError when it is cut short or not a JSON object."""
        return read_json_object(self.path / "config.json", "config.json")

    def write_status(self, status: str, message: str = "", **fields: Any) -> None:
        with STATUS_WRITE_LOCK:
            owner = owner_fields() if held_here(self.path) else {}
            write_json(self.path / "status.json", {"status": status, "message": message,
                                                   "updated": time.time(), **fields, **owner})

    def read_status(self) -> dict[str, Any]:
        """status.json as recorded; a broken file reads as status 'broken' with the reason."""
        p = self.path / "status.json"
        if not p.is_file():
            return {"status": "unknown", "message": ""}
        try:
            st = read_json_object(p, "status.json")
        except CorruptRunError as e:
            return {"status": "broken", "message": str(e)}
        if not isinstance(st.get("status"), str):
            return {"status": "broken", "message": f"{p}: no status"}
        return st

    def status(self) -> str:
        """The recorded status, or 'interrupted' when its writer died (see lock.effective_status)."""
        return effective_status(self.path, str(self.read_status().get("status")))

    def lock(self) -> RunLock:
        """Become the run's one writer (RunBusyError naming the holder if another has it)."""
        return RunLock.acquire(self.path)

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
        path = self.path / "snapshots" / f"it_{iteration:08d}.pt"
        return _images(load_tensor_file(path, "snapshot"), path)

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
        path = self.path / "checkpoint.pt"
        state = load_tensor_file(path, "checkpoint")
        if not isinstance(state, dict) or not isinstance(state.get("iteration"), int):
            raise CorruptRunError(f"{path}: not a dclab checkpoint (no iteration)")
        _images(state.get("images"), path)
        return state

    def save_final(self, synthetic: SyntheticSet) -> None:
        save_torch(self.path / "final.pt", synthetic_to_dict(synthetic))

    def has_final(self) -> bool:
        return (self.path / "final.pt").is_file()

    def load_final(self) -> SyntheticSet:
        path = self.path / "final.pt"
        obj = load_tensor_file(path, "final set")
        try:
            syn = synthetic_from_dict(obj)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise CorruptRunError(f"{path}: not a dclab synthetic set ({type(e).__name__}: {e})") from None
        _images(syn.images, path)
        return syn

    def drop_final(self) -> None:
        (self.path / "final.pt").unlink(missing_ok=True)

    def delete(self) -> None:
        """Remove the folder; RunBusyError when a live process writes it."""
        lock = self.lock()
        try:
            shutil.rmtree(self.path)
        finally:
            lock.release()


def write_json_lines(path: Path, records: list[dict[str, Any]]) -> None:
    from dclab.files import atomic_write

    atomic_write(path, lambda p: p.write_text("".join(json.dumps(r, default=float) + "\n" for r in records)))
