"""One writer per run folder, across processes: an OS file lock plus owner/heartbeat in status.json.

`RunLock.acquire(run_dir)` takes `<run>/.lock` (flock via `filelock`, released by the OS when the
holder dies, even on kill -9) or raises `RunBusyError` naming the holder (pid, host, heartbeat age).
While held, a daemon thread refreshes `heartbeat` in status.json every `HEARTBEAT_S` seconds, and
`write_status` adds `owner_pid`/`owner_host`/`heartbeat` itself.

`is_held(path)` asks the OS whether anybody holds the lock right now; a run whose status.json says
queued/running/paused but whose lock is free was left by a dead process: `effective_status` calls
it "interrupted" (resumable).
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from dclab.files import write_json

LOCK_NAME = ".lock"
HEARTBEAT_S = 5.0
LIVE_STATUSES = ("queued", "running", "paused")
INTERRUPTED = "interrupted"

# serialises read-modify-write of status.json inside this process (heartbeat vs the run loop)
STATUS_WRITE_LOCK = threading.RLock()
_HELD: dict[Path, RunLock] = {}
_HELD_GUARD = threading.Lock()


class RunBusyError(ValueError):
    """Another live process (or job) writes this run."""


def owner_fields() -> dict[str, Any]:
    return {"owner_pid": os.getpid(), "owner_host": socket.gethostname(), "heartbeat": time.time()}


def held_here(path: Path) -> bool:
    """This process holds the run's lock."""
    with _HELD_GUARD:
        return Path(path).resolve() in _HELD


def is_held(path: Path) -> bool:
    """Somebody (this process or another) holds the run's lock right now."""
    path = Path(path)
    if held_here(path):
        return True
    if not (path / LOCK_NAME).exists():
        return False
    probe = FileLock(str(path / LOCK_NAME), thread_local=False)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:  # an unreadable folder: not ours to judge, say nobody
        return False
    probe.release()
    return False


def describe_holder(path: Path) -> str:
    """'pid 123 on host x, heartbeat 2 s ago' from status.json (best effort)."""
    try:
        st = json.loads((Path(path) / "status.json").read_text())
    except (OSError, ValueError):
        return "another process"
    if not isinstance(st, dict) or "owner_pid" not in st:
        return "another process"
    beat = st.get("heartbeat")
    age = f", heartbeat {time.time() - float(beat):.0f} s ago" if isinstance(beat, (int, float)) else ""
    return f"pid {st.get('owner_pid')} on host {st.get('owner_host', '?')}{age}"


def effective_status(path: Path, recorded: str) -> str:
    """The recorded status, or 'interrupted' when it claims a live writer that is gone."""
    if recorded in LIVE_STATUSES and not is_held(path):
        return INTERRUPTED
    return recorded


def _busy(path: Path) -> RunBusyError:
    """The refusal, naming the holder (status.json is read only when refusing)."""
    return RunBusyError(f"run {path.name} is being written by {describe_holder(path)}; stop it there first")


class RunLock:
    """The write lock of one run folder, held by this process until `release()`."""

    def __init__(self, path: Path, lock: FileLock) -> None:
        self.path = path
        self._lock = lock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"dclab-heartbeat-{path.name}", daemon=True)

    @classmethod
    def acquire(cls, path: Path | str) -> RunLock:
        path = Path(path).resolve()
        with _HELD_GUARD:
            if path in _HELD:
                raise _busy(path)
            lock = FileLock(str(path / LOCK_NAME), thread_local=False)
            try:
                lock.acquire(timeout=0)
            except Timeout:
                raise _busy(path) from None
            held = cls(path, lock)
            _HELD[path] = held
        held._thread.start()
        return held

    def release(self) -> None:
        self._stop.set()
        with _HELD_GUARD:
            if _HELD.get(self.path) is self:
                del _HELD[self.path]
                self._lock.release()

    def _beat(self) -> None:
        status = self.path / "status.json"
        while not self._stop.wait(HEARTBEAT_S):
            with STATUS_WRITE_LOCK:
                if self._stop.is_set():
                    return
                try:
                    current = json.loads(status.read_text())
                except (OSError, ValueError):
                    continue
                if isinstance(current, dict):
                    write_json(status, {**current, **owner_fields()})
