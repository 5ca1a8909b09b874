"""`Job`: one condensation run in a background thread, with a live, thread-safe `JobSnapshot`.

The worker thread runs `run_condensation` and, as its listener, publishes progress under a lock:
the loss list on every step (cheap), a copy of the images at most `IMAGE_COPIES_PER_S` times a
second (and at every status change), evaluation results as they come. Readers (app pages, the
CLI) call `snapshot()` from any thread and never touch the method.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from dclab.eval.result import EvalResult
from dclab.jobs.runner import RunControl, RunOutcome, run_condensation
from dclab.threads import compute_share
from dclab.jobs.spec import PreparedRun, RunSpec
from dclab.methods import CondensationMethod, StepMetrics
from dclab.runs import RunDir
from dclab.runs.lock import RunLock
from dclab.runs.reader import eval_entry, split_metrics

IMAGE_COPIES_PER_S = 4.0
RATE_WINDOW = 20  # steps in the iterations/s estimate


@dataclass(frozen=True)
class JobSnapshot:
    """What a view needs to draw a job, copied out under the job's lock."""

    job_id: str
    status: str
    message: str
    iteration: int
    total_iterations: int
    images: Tensor | None  # (N, C, H, W) CPU, normalised like the data set; None before the start
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...]
    ipc: int
    losses: tuple[tuple[int, float], ...]  # (iteration, loss)
    evals: tuple[dict[str, Any], ...]  # {"iteration", "mean", "std", "protocol_text"}
    its_per_s: float | None
    eta_s: float | None
    updated: float  # time.time() of the last change


class _RateMeter:
    """Iterations per second of wall time over the last few steps; `restart` after a pause."""

    def __init__(self, window: int = RATE_WINDOW) -> None:
        self._intervals: deque[float] = deque(maxlen=window)
        self._last: float | None = None

    def restart(self, now: float) -> None:
        self._intervals.clear()
        self._last = now

    def tick(self, now: float) -> None:
        if self._last is not None:
            self._intervals.append(now - self._last)
        self._last = now

    def rate(self) -> float | None:
        total = sum(self._intervals)
        return len(self._intervals) / total if self._intervals and total > 0 else None


class Job:
    """A run in a background thread. Created by `JobManager`; `start()` is the manager's to call."""

    def __init__(self, prepared: PreparedRun, run_dir: RunDir, resume: bool = False,
                 on_end: Callable[[Job], None] | None = None, run_lock: RunLock | None = None) -> None:
        self.prepared = prepared
        self.run_dir = run_dir
        self._run_lock = run_lock  # the run folder's writer lock, released when the job ends
        self.id = run_dir.run_id
        self.resuming = resume
        self._on_end = on_end
        self._control = RunControl()
        self._lock = threading.Lock()  # guards the published fields below
        self._start_lock = threading.Lock()  # start() vs stop() of a queued job
        self._ended = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = "queued"
        self._message = "waiting for a free device slot"
        self._iteration = 0
        self._images: Tensor | None = None
        self._last_copy = 0.0
        self._losses: list[tuple[int, float]] = []
        self._evals: list[dict[str, Any]] = []
        self._rate = _RateMeter()
        self._updated = time.time()
        self.outcome: RunOutcome | None = None

    # ---- identity ---------------------------------------------------------------
    @property
    def spec(self) -> RunSpec:
        return self.prepared.spec

    @property
    def device_key(self) -> str:
        """The slot a job occupies: 'cpu', 'cuda:0', ... ('cuda' counts as 'cuda:0')."""
        dev = self.prepared.device
        return f"{dev.type}:{dev.index or 0}" if dev.type == "cuda" else dev.type

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def message(self) -> str:
        with self._lock:
            return self._message

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    # ---- control ------------------------------------------------------------------
    def start(self) -> None:
        with self._start_lock:
            if self._thread is not None or self.ended or self._control.stop_requested:
                return
            self._set(status="running", message="preparing the method")
            self._thread = threading.Thread(target=self._work, name=f"dclab-job-{self.id}", daemon=True)
            self._thread.start()

    def pause(self) -> None:
        """Takes effect after the current step (checkpoint written, status 'paused')."""
        if not self.ended:
            self._control.pause()

    def resume(self) -> None:
        """Continue a paused job (a stopped one is resumed with `JobManager.resume`)."""
        self._control.resume()

    def stop(self) -> None:
        """Ends after the current step, keeping checkpoint and final set; a queued job ends at once."""
        self._control.stop()
        with self._start_lock:
            queued = self._thread is None and not self.ended
            if queued:
                self._set(status="stopped", message="stopped before it started")
                self.run_dir.write_status("stopped", "stopped before it started", iteration=self._iteration,
                                          total_iterations=self.prepared.total_iterations)
        if queued:
            self._finish_job()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the job has ended (finished, stopped or failed)."""
        return self._ended.wait(timeout)

    def snapshot(self) -> JobSnapshot:
        d = self.prepared.data
        with self._lock:
            total = self.prepared.total_iterations
            rate = self._rate.rate() if self._status == "running" else None
            eta = (total - self._iteration) / rate if rate else None
            return JobSnapshot(
                job_id=self.id, status=self._status, message=self._message, iteration=self._iteration,
                total_iterations=total, images=self._images, mean=d.mean, std=d.std,
                class_names=d.class_names, ipc=self.spec.ipc, losses=tuple(self._losses),
                evals=tuple(self._evals), its_per_s=rate, eta_s=eta, updated=self._updated,
            )

    # ---- worker thread --------------------------------------------------------------
    def _work(self) -> None:
        try:
            with compute_share():  # shares the cores with other jobs/evaluations (dclab/threads.py)
                self.outcome = run_condensation(self.prepared, self.run_dir, self._control, self, self.resuming)
        finally:
            self._finish_job()

    def _finish_job(self) -> None:
        if self._run_lock is not None:
            self._run_lock.release()
        self._ended.set()
        if self._on_end is not None:
            self._on_end(self)

    def _set(self, **fields: Any) -> None:
        with self._lock:
            for k, v in fields.items():
                setattr(self, f"_{k}", v)
            self._updated = time.time()

    # ---- RunListener (called in the worker thread) -----------------------------------
    def on_start(self, method: CondensationMethod, history: list[dict[str, Any]]) -> None:
        metrics = split_metrics(history)
        self._set(iteration=method.iteration, losses=metrics.losses, evals=metrics.evals,
                  images=method.images.detach().cpu().clone())
        self._last_copy = time.monotonic()

    def on_status(self, status: str, message: str, method: CondensationMethod | None) -> None:
        fields: dict[str, Any] = {"status": status, "message": message}
        if method is not None and status != "failed":  # a failed state may be NaN: keep the last good
            fields["images"] = method.images.detach().cpu().clone()
            fields["iteration"] = method.iteration
        self._set(**fields)
        if status == "running":
            with self._lock:
                self._rate.restart(time.monotonic())  # a pause is not slowness

    def on_step(self, metrics: StepMetrics, method: CondensationMethod) -> None:
        now = time.monotonic()
        copy = now - self._last_copy >= 1.0 / IMAGE_COPIES_PER_S or method.done
        images = method.images.detach().cpu().clone() if copy else None
        with self._lock:
            self._iteration = metrics.iteration
            self._losses.append((metrics.iteration, metrics.loss))
            self._rate.tick(now)
            if images is not None:
                self._images = images
                self._last_copy = now
            self._updated = time.time()

    def on_eval(self, iteration: int, result: EvalResult) -> None:
        entry = eval_entry(iteration, result.mean, result.std, result.protocol_text)
        with self._lock:
            self._evals.append(entry)
            self._updated = time.time()
