"""Reading a run folder for views, exports and analyses: its current images and a summary row.

`synthetic_from_run` / `run_images`: the newest good images of a run as a SyntheticSet.
`summarize_run`: one row per run folder (status, progress, last loss and evaluation); never raises.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from dclab.runs.store import CorruptRunError, RunDir
from dclab.synthetic import SyntheticSet, class_major_labels


def synthetic_from_run(run_dir: RunDir) -> SyntheticSet:
    """The run's newest good images as a SyntheticSet (see `run_images`)."""
    return run_images(run_dir)[0]


def run_images(run_dir: RunDir) -> tuple[SyntheticSet, str]:
    """(set, where it came from): final.pt if present, else the newest readable of the checkpoint and
    the snapshots (a crashed run's snapshots may be newer than its checkpoint). A cut or tampered
    file is skipped when an older good one exists; CorruptRunError names it when none does."""
    if run_dir.has_final():
        syn = run_dir.load_final()
        it = run_dir.read_status().get("iteration")
        return syn, f"final.pt (iteration {it})" if isinstance(it, int) else "final.pt"
    cfg = run_dir.read_run_config()
    candidates: list[tuple[int, str]] = [(it, "snapshot") for it in run_dir.snapshot_iterations()]
    first_error: CorruptRunError | None = None
    if run_dir.has_checkpoint():
        try:
            state = run_dir.load_checkpoint()
            candidates.append((int(state["iteration"]), "checkpoint"))
        except CorruptRunError as e:
            first_error = e
    for it, source in sorted(candidates, key=lambda c: (c[0], c[1] == "checkpoint"), reverse=True):
        try:
            images = state["images"] if source == "checkpoint" else run_dir.load_snapshot(it)
            return _set_from_images(run_dir, cfg, images), f"{source} of iteration {it}"
        except CorruptRunError as e:
            first_error = first_error or e
    if first_error is not None:
        raise first_error
    raise ValueError(f"run {run_dir.run_id} has no images yet (no final.pt, checkpoint or snapshot)")


def _set_from_images(run_dir: RunDir, cfg: dict, images: Tensor) -> SyntheticSet:
    ds = cfg["dataset"]
    class_names = tuple(ds["class_names"])
    if images.shape[0] != len(class_names) * cfg["ipc"] or list(images.shape[1:]) != list(ds.get("shape") or
                                                                                      images.shape[1:]):
        raise CorruptRunError(f"{run_dir.path}: images of shape {tuple(images.shape)} do not fit the run "
                              f"({len(class_names)} classes x IPC {cfg['ipc']}, {ds.get('shape')})")
    return SyntheticSet(
        images=images.detach().cpu().float(),
        labels=class_major_labels(len(class_names), cfg["ipc"]),
        dataset=ds["name"],
        class_names=class_names,
        mean=tuple(ds["mean"]),
        std=tuple(ds["std"]),
        method=str(cfg.get("method", "unknown")),
        config=dict(cfg.get("config") or {}),
        seed=cfg.get("seed"),
    )


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    method: str
    dataset: str
    ipc: int
    seed: int | None
    status: str
    message: str
    iteration: int
    total_iterations: int | None
    last_loss: float | None
    last_eval: dict | None  # {"iteration", "mean", "std", "protocol_text"} of the latest evaluation

    def row(self) -> dict:
        ev = self.last_eval
        return {
            "run": self.run_id, "method": self.method, "dataset": self.dataset, "ipc": self.ipc,
            "seed": self.seed, "status": self.status,
            "message": self.message if self.status in ("broken", "failed", "interrupted") else "",
            "iteration": f"{self.iteration}/{self.total_iterations or '?'}",
            "last loss": None if self.last_loss is None else round(self.last_loss, 5),
            "accuracy (%)": "not evaluated" if ev is None else f"{100 * ev['mean']:.2f} ± {100 * ev['std']:.2f}",
            "protocol": "" if ev is None else ev.get("protocol_text", ""),
        }


def summarize_run(run: RunDir) -> RunSummary:
    """Never raises on a broken run: it becomes a row with status 'broken' and the reason."""
    try:
        cfg = run.read_run_config()
    except ValueError as e:
        return RunSummary(run_id=run.run_id, method="?", dataset="?", ipc=0, seed=None, status="broken",
                          message=str(e), iteration=0, total_iterations=None, last_loss=None, last_eval=None)
    status = {**run.read_status(), "status": run.status()}
    last_loss, last_eval, last_it = None, None, 0
    for rec in run.read_metrics():
        if rec.get("kind") == "eval":
            last_eval = {"iteration": rec.get("iteration"), "mean": rec["mean"], "std": rec["std"],
                         "protocol_text": rec.get("protocol_text", "")}
        elif "loss" in rec:
            last_loss, last_it = float(rec["loss"]), int(rec.get("iteration", 0))
    total = status.get("total_iterations") or (cfg.get("config") or {}).get("iterations")
    return RunSummary(
        run_id=run.run_id, method=str(cfg.get("method", "?")),
        dataset=str((cfg.get("dataset") or {}).get("name", "?")), ipc=int(cfg.get("ipc", 0)),
        seed=cfg.get("seed"), status=str(status.get("status", "unknown")),
        message=str(status.get("message", "")), iteration=int(status.get("iteration", last_it) or last_it),
        total_iterations=None if total is None else int(total), last_loss=last_loss, last_eval=last_eval,
    )
