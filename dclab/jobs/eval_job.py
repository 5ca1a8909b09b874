"""The evaluation task board: long evaluations (or any measured task) off the page's thread.

The app submits analyses here so a page never blocks on training K networks; pages poll
`snapshot()` from a fragment. A task is a callable `fn(progress, stop)` where `progress(done,
total)` reports steps and `stop` is a threading.Event it should honour; its return value becomes
`result`. `EvalBoard` runs the tasks of one process (the app's cache_resource) on a
`concurrent.futures.ThreadPoolExecutor`, keyed by a caller-chosen name so a page can find "its"
task after a rerun; tasks beyond the pool's size wait as "queued".
"""
from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from typing import Any

from dclab.progress import Progress
from dclab.threads import compute_share

TaskFn = Callable[[Progress, threading.Event], Any]
MAX_TASKS = 4  # evaluations computing at once; each shares the cores with running jobs (dclab/threads.py)


@dataclass(frozen=True)
class EvalJobSnapshot:
    key: str
    label: str
    status: str  # queued | running | finished | failed | stopped
    done: int
    total: int
    message: str
    result: Any  # the task's return value once finished, else None
    seconds: float


class EvalJob:
    """One task's future, its stop event and its last progress report (read from any thread)."""

    def __init__(self, key: str, label: str, fn: TaskFn) -> None:
        self.key, self.label = key, label
        self._fn = fn
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done, self._total = 0, 0
        self._started: float | None = None
        self._finished: float | None = None
        self.future: Future[Any] | None = None

    def _progress(self, done: int, total: int) -> None:
        with self._lock:
            self._done, self._total = int(done), int(total)

    def run(self) -> Any:
        """The task body (on a pool thread): counts as a computing worker while it runs."""
        with self._lock:
            self._started = time.monotonic()
        try:
            if self._stop.is_set():
                return None
            with compute_share():
                return self._fn(self._progress, self._stop)
        finally:
            with self._lock:
                self._finished = time.monotonic()

    def stop(self) -> None:
        self._stop.set()
        if self.future is not None:
            self.future.cancel()  # a queued task never starts

    def wait(self, timeout: float | None = None) -> bool:
        assert self.future is not None, "wait() before the board submitted the task"
        return not wait_futures([self.future], timeout).not_done

    @property
    def ended(self) -> bool:
        return self.future is not None and self.future.done()

    def snapshot(self) -> EvalJobSnapshot:
        with self._lock:
            done, total, started, finished = self._done, self._total, self._started, self._finished
        status, message, result = self._outcome()
        seconds = 0.0 if started is None else (finished or time.monotonic()) - started
        return EvalJobSnapshot(self.key, self.label, status, done, total, message, result, seconds)

    def _outcome(self) -> tuple[str, str, Any]:
        future = self.future
        if future is None or not future.done():
            return ("running" if future is not None and future.running() else "queued"), "", None
        try:
            result = future.result()
        except CancelledError:
            return "stopped", "stopped before it started", None
        except Exception as e:  # noqa: BLE001 - a failed evaluation is shown as one line
            return "failed", f"{type(e).__name__}: {e}".splitlines()[0], None
        return ("stopped", "stopped", None) if self._stop.is_set() else ("finished", "", result)


_LIVE_BOARDS: weakref.WeakSet[EvalBoard] = weakref.WeakSet()


def _stop_tasks_at_exit() -> None:
    """Process exit: ask every task to stop, so the pool's exit-time join does not wait for a long one."""
    for board in list(_LIVE_BOARDS):
        for job in board.jobs():
            job.stop()


# concurrent.futures joins its workers in threading's exit hooks, which run before `atexit` ones and
# in reverse order of registration: registered after its own, this one runs first.
threading._register_atexit(_stop_tasks_at_exit)  # noqa: SLF001 - the hook concurrent.futures uses


class EvalBoard:
    """The evaluation tasks of one process. Submitting under a key that is still running is refused."""

    def __init__(self, max_tasks: int = MAX_TASKS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_tasks, thread_name_prefix="dclab-eval")
        self._jobs: dict[str, EvalJob] = {}
        self._lock = threading.Lock()
        _LIVE_BOARDS.add(self)

    def submit(self, key: str, label: str, fn: TaskFn) -> EvalJob:
        with self._lock:
            old = self._jobs.get(key)
            if old is not None and not old.ended:
                raise ValueError(f"{label!r} is already running; wait for it or stop it")
            job = self._jobs[key] = EvalJob(key, label, fn)
            job.future = self._pool.submit(job.run)
        return job

    def get(self, key: str) -> EvalJob | None:
        with self._lock:
            return self._jobs.get(key)

    def jobs(self) -> list[EvalJob]:
        with self._lock:
            return list(self._jobs.values())

    def shutdown(self, timeout: float = 10) -> None:
        """Stop every task and wait up to `timeout` s for the running ones to return."""
        jobs = self.jobs()
        for j in jobs:
            j.stop()
        futures = [j.future for j in jobs if j.future is not None]
        wait_futures(futures, timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
