"""Rank 0 owns the run folder; every other rank runs the same loop against a `MuteRunDir`.

The condensation loop (`dclab/jobs/runner.py`) writes config, status, metrics, snapshots,
checkpoints and the final set through a `RunDir`. A rank > 0 gets this stand-in instead: writes do
nothing, reads find an empty run (its checkpoint comes from rank 0 over the wire, see
`runner._Loop._restore`), so two processes never write one file and the lock stays rank 0's.
"""
from __future__ import annotations

from typing import Any

import torch


class MuteRunDir:
    """A run folder that is not written (ranks > 0). Same methods as the `RunDir` the loop uses."""

    run_id = "(rank > 0: rank 0 writes the run folder)"

    def write_status(self, status: str, message: str = "", **fields: Any) -> None:
        pass

    def append_metrics(self, record: dict[str, Any]) -> None:
        pass

    def read_metrics(self) -> list[dict[str, Any]]:
        return []

    def truncate_metrics(self, after_iteration: int) -> None:
        pass

    def save_snapshot(self, iteration: int, images: torch.Tensor) -> None:
        pass

    def snapshot_iterations(self) -> list[int]:
        return []

    def truncate_snapshots(self, after_iteration: int) -> None:
        pass

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        pass

    def has_checkpoint(self) -> bool:
        return False

    def save_final(self, synthetic: Any) -> None:
        pass

    def drop_final(self) -> None:
        pass
