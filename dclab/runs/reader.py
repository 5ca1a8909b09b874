"""Reading a run folder for views, exports and analyses: its record, images, metrics and summary row.

`read_record` (in `record.py`): config.json as a typed `RunRecord`.
`synthetic_from_run` / `run_images`: the newest good images of a run as a SyntheticSet; `snapshot_set`:
its images at one snapshot;
`run_dataset`: the data set it was made on.
`split_metrics`: metrics.jsonl as loss points and evaluation entries (the one parser of its kinds).
`summarize_run`: one row per run folder (status, progress, last loss and evaluation); never raises.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from torch import Tensor

from dclab.data.bundle import DatasetBundle
from dclab.runs.record import RunRecord, read_record
from dclab.runs.store import CorruptRunError, RunDir
from dclab.synthetic import SyntheticSet, class_major_labels


def eval_entry(iteration: int, mean: float, std: float, protocol_text: str) -> dict[str, Any]:
    """An evaluation as views show it: {"iteration", "mean", "std", "protocol_text"}."""
    return {"iteration": iteration, "mean": mean, "std": std, "protocol_text": protocol_text}


@dataclass(frozen=True)
class RunMetrics:
    losses: list[tuple[int, float]]  # (iteration, loss) of every step
    evals: list[dict[str, Any]]  # `eval_entry` of every evaluation during the run


def split_metrics(records: Iterable[Mapping[str, Any]]) -> RunMetrics:
    """metrics.jsonl records -> step losses and evaluation entries (records of other kinds are skipped)."""
    losses, evals = [], []
    for r in records:
        if r.get("kind") == "eval":
            evals.append(eval_entry(int(r["iteration"]), r["mean"], r["std"], r.get("protocol_text", "")))
        elif "kind" not in r and "loss" in r:
            losses.append((int(r["iteration"]), float(r["loss"])))
    return RunMetrics(losses, evals)


def run_dataset(record: RunRecord, name: str | None = None, root: str | None = None) -> DatasetBundle:
    """The data set a run was made on (or `name`), from `root`, else the data root the run used."""
    from dclab.data import load_dataset

    spec_root = record.spec.get("data_root")
    return load_dataset(name or record.dataset.name, root=root or (spec_root if isinstance(spec_root, str) else None))


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
    record = read_record(run_dir)
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
            return _set_from_images(run_dir, record, images), f"{source} of iteration {it}"
        except CorruptRunError as e:
            first_error = first_error or e
    if first_error is not None:
        raise first_error
    raise ValueError(f"run {run_dir.run_id} has no images yet (no final.pt, checkpoint or snapshot)")


def snapshot_set(run_dir: RunDir, iteration: int) -> SyntheticSet:
    """The run's images at a snapshot as a set; multi-formation runs (IDC, MDC on IDC) carry their
    formation factor, so `.decoded()` gives the images a network trains on."""
    record = read_record(run_dir)
    syn = _set_from_images(run_dir, record, run_dir.load_snapshot(iteration))
    multi = record.method == "idc" or (record.method == "mdc" and record.settings.get("base") == "idc")
    factor = record.settings.get("factor", 1) if multi else 1
    if isinstance(factor, int) and not isinstance(factor, bool) and factor > 1:
        return replace(syn, extras={"formation_factor": factor})
    return syn


def _set_from_images(run_dir: RunDir, record: RunRecord, images: Tensor) -> SyntheticSet:
    ds, ipc = record.dataset, record.ipc
    if images.shape[0] != ds.num_classes * ipc or (ds.shape is not None and tuple(images.shape[1:]) != ds.shape):
        raise CorruptRunError(f"{run_dir.path}: images of shape {tuple(images.shape)} do not fit the run "
                              f"({ds.num_classes} classes x IPC {ipc}, {ds.shape})")
    return SyntheticSet(
        images=images.detach().cpu().float(),
        labels=class_major_labels(ds.num_classes, ipc),
        dataset=ds.name,
        class_names=ds.class_names,
        mean=ds.mean,
        std=ds.std,
        method=record.method,
        config=dict(record.settings),
        seed=record.seed,
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
        record = read_record(run)
    except ValueError as e:
        return RunSummary(run_id=run.run_id, method="?", dataset="?", ipc=0, seed=None, status="broken",
                          message=str(e), iteration=0, total_iterations=None, last_loss=None, last_eval=None)
    status = {**run.read_status(), "status": run.status()}
    metrics = split_metrics(run.read_metrics())
    last_it, last_loss = metrics.losses[-1] if metrics.losses else (0, None)
    total = status.get("total_iterations") or record.iterations
    return RunSummary(
        run_id=run.run_id, method=record.method, dataset=record.dataset.name, ipc=record.ipc,
        seed=record.seed, status=str(status.get("status", "unknown")),
        message=str(status.get("message", "")), iteration=int(status.get("iteration", last_it) or last_it),
        total_iterations=None if total is None else int(total), last_loss=last_loss,
        last_eval=metrics.evals[-1] if metrics.evals else None,
    )
