"""`JobManager`: submit, queue and resume background condensation jobs.

A queue with a concurrency limit: at most `max_running_per_device` jobs hold a device at once
(a paused job keeps its slot, since its tensors stay on the device); the next queued job for
that device starts when one ends. One manager per process (the app keeps it in cache_resource).
"""
from __future__ import annotations

import atexit
import threading
import time
import weakref
from pathlib import Path

from dclab.jobs.job import Job
from dclab.jobs.spec import RunSpec, prepare
from dclab.runs import DEFAULT_RUNS_ROOT, RunDir
from dclab.runs.lock import RunBusyError
from dclab.runs.store import CorruptRunError

_LIVE_MANAGERS: weakref.WeakSet[JobManager] = weakref.WeakSet()


@atexit.register
def _stop_jobs_at_exit() -> None:
    """Process exit (e.g. Ctrl-C of the app server): stop running jobs cleanly, so each writes
    its checkpoint and ends "stopped" instead of dying mid-step with its daemon thread."""
    for manager in list(_LIVE_MANAGERS):
        manager.shutdown(timeout=30)


class JobManager:
    def __init__(self, runs_root: Path | str = DEFAULT_RUNS_ROOT, max_running_per_device: int = 1) -> None:
        if max_running_per_device < 1:
            raise ValueError(f"max_running_per_device must be >= 1, got {max_running_per_device}")
        self.runs_root = Path(runs_root)
        self.max_running_per_device = max_running_per_device
        self._jobs: dict[str, Job] = {}  # insertion order = submission order
        self._lock = threading.RLock()
        _LIVE_MANAGERS.add(self)

    # ---- submit / resume ---------------------------------------------------------
    def submit(self, spec: RunSpec) -> Job:
        """Validate (raising a one-line user error), create the run folder, queue the job."""
        prepared = prepare(spec)
        run_dir = RunDir.create(self.runs_root, prepared.name_hint)
        lock = run_dir.lock()  # a fresh folder: only a racing Delete could hold it
        try:
            run_dir.write_config(prepared.config_json())
            run_dir.write_status("queued", "waiting for a free device slot", iteration=0,
                                 total_iterations=prepared.total_iterations)
        except BaseException:
            lock.release()
            raise
        return self._enqueue(Job(prepared, run_dir, on_end=self._job_ended, run_lock=lock))

    def resume(self, run_dir_or_id: RunDir | Path | str) -> Job:
        """Continue a stopped, failed, interrupted (its writer died) run from its checkpoint.

        RunBusyError (one line naming the holder) when another job or process writes the run."""
        run_dir = self._open(run_dir_or_id)
        with self._lock:
            current = self._jobs.get(run_dir.run_id)
            if current is not None and not current.ended:
                raise RunBusyError(f"run {run_dir.run_id} is {current.status} in this process; "
                                   f"stop it before resuming")
        lock = run_dir.lock()
        try:
            stored = run_dir.read_config()
            if run_dir.read_status().get("status") == "finished":
                raise ValueError(f"run {run_dir.run_id} has already finished")
            if not isinstance(stored.get("spec"), dict) or not isinstance(stored.get("config"), dict):
                raise CorruptRunError(f"{run_dir.path / 'config.json'}: no spec/config to resume from "
                                      f"(an imported set cannot be resumed)")
            if run_dir.has_checkpoint():
                run_dir.load_checkpoint()  # a cut or tampered checkpoint: one line now, not a failed job
            prepared = prepare(RunSpec.from_dict(stored["spec"]), stored=stored)
            it = run_dir.read_status().get("iteration", 0)
            run_dir.write_status("queued", "waiting to resume", iteration=it if isinstance(it, int) else 0,
                                 total_iterations=prepared.total_iterations)
        except BaseException:
            lock.release()
            raise
        return self._enqueue(Job(prepared, run_dir, resume=True, on_end=self._job_ended, run_lock=lock))

    # ---- queries -------------------------------------------------------------------
    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def shutdown(self, timeout: float = 10) -> None:
        """Stop every job (queued ones first, so none starts) and wait up to `timeout` s in all."""
        jobs = self.jobs()
        for job in sorted(jobs, key=lambda j: j.started):
            job.stop()
        deadline = time.monotonic() + timeout
        for job in jobs:
            job.wait(max(0.0, deadline - time.monotonic()))

    # ---- internals ---------------------------------------------------------------------
    def _open(self, run_dir_or_id: RunDir | Path | str) -> RunDir:
        if isinstance(run_dir_or_id, RunDir):
            return run_dir_or_id
        path = Path(run_dir_or_id)
        if not (path / "config.json").is_file():
            path = self.runs_root / str(run_dir_or_id)
        return RunDir.open(path)  # RunNotFoundError (a FileNotFoundError) with one line

    def _enqueue(self, job: Job) -> Job:
        with self._lock:
            self._jobs.pop(job.id, None)  # a resumed run replaces its ended job
            self._jobs[job.id] = job
            self._schedule()
        return job

    def _job_ended(self, job: Job) -> None:
        self._schedule()

    def _schedule(self) -> None:
        """Start queued jobs, oldest first, while their device has a free slot."""
        with self._lock:
            busy: dict[str, int] = {}
            for job in self._jobs.values():
                if job.started and not job.ended:
                    busy[job.device_key] = busy.get(job.device_key, 0) + 1
            for job in self._jobs.values():
                if job.started or job.ended:
                    continue
                if busy.get(job.device_key, 0) < self.max_running_per_device:
                    job.start()
                    busy[job.device_key] = busy.get(job.device_key, 0) + 1
