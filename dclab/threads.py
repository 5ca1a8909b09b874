"""Thread policy (the one place that owns it): compute uses every core torch is given.

torch's own default (its intra-op pool, one thread per physical core, or OMP_NUM_THREADS) is kept;
nothing in dclab lowers it to leave a core for the UI (the app stays responsive because Streamlit
serves from its own threads and reruns are cheap; see tests/test_e2e_browser.py). A user caps it
with `--threads N` on the CLI or the DCLAB_THREADS environment variable; the count used is recorded
in the run's status and in every evaluation result's protocol line.

Several computations at once in one process (the app runs condensation jobs and evaluations in
worker threads) share the budget instead of oversubscribing it: each worker thread registered with
`compute_share()` runs on budget // (workers now running) threads, re-balanced between its steps
(`rebalance()`), so one job alone still gets every core. torch's thread count is per calling thread
(OpenMP), so this never lowers the count of the server's or the CLI's main thread.
"""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import torch

ENV_VAR = "DCLAB_THREADS"


def requested_threads(flag: int | None = None) -> int | None:
    """The user's cap: the CLI flag, else $DCLAB_THREADS, else None (torch's default)."""
    if flag is not None:
        value, source = str(flag), "--threads"
    else:
        value, source = os.environ.get(ENV_VAR, "").strip(), ENV_VAR
        if not value:
            return None
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"{source} must be a whole number of threads >= 1, got {value!r}") from None
    if n < 1:
        raise ValueError(f"{source} must be a whole number of threads >= 1, got {n}")
    return n


def apply_threads(flag: int | None = None) -> int:
    """Set torch's intra-op thread count to the user's cap (if any); return the count now in use."""
    n = requested_threads(flag)
    if n is not None and n != torch.get_num_threads():
        torch.set_num_threads(n)
    _share.budget = torch.get_num_threads()
    return _share.budget


def threads_in_use() -> int:
    """torch's intra-op thread count in this process (what CPU compute runs on)."""
    return torch.get_num_threads()


class _Share:
    """The process's thread budget and how many worker threads compute now (helper state)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        try:
            self.budget = requested_threads() or torch.get_num_threads()
        except ValueError:  # a bad $DCLAB_THREADS is reported where it is applied (CLI, app)
            self.budget = torch.get_num_threads()
        self.workers = 0


_share = _Share()


def fair_share() -> int:
    """Threads for one of the worker threads computing now: budget // workers, at least 1."""
    with _share.lock:
        return max(1, _share.budget // max(1, _share.workers))


def rebalance() -> int:
    """Set the calling worker thread's torch thread count to its fair share; return it."""
    n = fair_share()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


@contextlib.contextmanager
def compute_share() -> Iterator[int]:
    """Count the calling worker thread as computing while the block runs (see the module docstring)."""
    with _share.lock:
        _share.workers += 1
    try:
        yield rebalance()
    finally:
        with _share.lock:
            _share.workers -= 1
