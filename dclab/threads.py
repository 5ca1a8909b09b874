"""Thread policy (the one place that owns it): compute uses every core torch is given.

torch's own default (its intra-op pool, one thread per physical core, or OMP_NUM_THREADS) is kept;
nothing in dclab lowers it to leave a core for the UI (the app stays responsive because Streamlit
serves from its own threads and reruns are cheap; see tests/test_e2e_browser.py). A user caps it
with `--threads N` on the CLI or the DCLAB_THREADS environment variable; the count used is recorded
in the run's status and in every evaluation result's protocol line.
"""
from __future__ import annotations

import os

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
    return torch.get_num_threads()


def threads_in_use() -> int:
    """torch's intra-op thread count in this process (what CPU compute runs on)."""
    return torch.get_num_threads()
