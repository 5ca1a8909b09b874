"""One row per run folder for tables: status, progress and key numbers, read from its files."""
from __future__ import annotations

from dataclasses import dataclass

from dclab.runs import RunDir


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

    @property
    def label(self) -> str:
        return f"{self.run_id} [{self.status}]"

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
