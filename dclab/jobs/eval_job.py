"""`EvalJob`: a long evaluation (or any measured task) in a background thread, with progress.

The app submits evaluations here so a page never blocks on training K networks; pages poll
`snapshot()` from a fragment. The task is a callable `fn(progress, stop)` where
`progress(done, total)` reports steps and `stop` is a threading.Event it should honour; its
return value becomes `result`. `EvalBoard` keeps the tasks of one process (the app's
cache_resource), keyed by a caller-chosen name so a page can find "its" task after a rerun.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dclab.threads import compute_share

ProgressFn = Callable[[int, int], None]
TaskFn = Callable[[ProgressFn, threading.Event], Any]


@dataclass(frozen=True)
class EvalJobSnapshot:
    key: str
    label: str
    status: str  # running | finished | failed | stopped
    done: int
    total: int
    message: str
    result: Any  # the task's return value once finished, else None
    seconds: float


class EvalJob:
    """One task in a daemon thread; status/progress/result read under a lock from any thread."""

    def __init__(self, key: str, label: str, fn: TaskFn) -> None:
        self.key, self.label = key, label
        self._fn = fn
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ended = threading.Event()
        self._status, self._done, self._total, self._message = "running", 0, 0, ""
        self._result: Any = None
        self._start = time.monotonic()
        self._seconds = 0.0
        self._thread = threading.Thread(target=self._work, name=f"dclab-eval-{key}", daemon=True)

    def start(self) -> EvalJob:
        self._thread.start()
        return self

    def _progress(self, done: int, total: int) -> None:
        with self._lock:
            self._done, self._total = int(done), int(total)

    def _work(self) -> None:
        try:
            with compute_share():  # shares the cores with running jobs (dclab/threads.py)
                result = self._fn(self._progress, self._stop)
            status, message = ("stopped", "stopped") if self._stop.is_set() else ("finished", "")
        except Exception as e:  # noqa: BLE001 - a failed evaluation is shown as one line
            result, status, message = None, "failed", f"{type(e).__name__}: {e}".splitlines()[0]
        with self._lock:
            self._result, self._status, self._message = result, status, message
            self._seconds = time.monotonic() - self._start
        self._ended.set()

    def stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._ended.wait(timeout)

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def snapshot(self) -> EvalJobSnapshot:
        with self._lock:
            secs = self._seconds if self.ended else time.monotonic() - self._start
            return EvalJobSnapshot(self.key, self.label, self._status, self._done, self._total,
                                   self._message, self._result, secs)


class EvalBoard:
    """The evaluation tasks of one process. Submitting under a key that is still running is refused."""

    def __init__(self) -> None:
        self._jobs: dict[str, EvalJob] = {}
        self._lock = threading.Lock()

    def submit(self, key: str, label: str, fn: TaskFn) -> EvalJob:
        with self._lock:
            old = self._jobs.get(key)
            if old is not None and not old.ended:
                raise ValueError(f"{label!r} is already running; wait for it or stop it")
            job = self._jobs[key] = EvalJob(key, label, fn)
        return job.start()

    def get(self, key: str) -> EvalJob | None:
        with self._lock:
            return self._jobs.get(key)

    def jobs(self) -> list[EvalJob]:
        with self._lock:
            return list(self._jobs.values())

    def shutdown(self, timeout: float = 10) -> None:
        jobs = self.jobs()
        for j in jobs:
            j.stop()
        deadline = time.monotonic() + timeout
        for j in jobs:
            j.wait(max(0.0, deadline - time.monotonic()))
