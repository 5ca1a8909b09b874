"""CPU memory policy (the one place that owns it): freed tensor memory stays in the process.

glibc's malloc serves every block above its mmap threshold (dynamic, at most 32 MiB) with a fresh
`mmap` and gives it back to the kernel on `free`. A ConvNet-128 forward on a batch of 256 images of
28x28 makes activations of about 100 MiB per layer, so every layer of every step asks the kernel
for new zeroed pages and page-faults through them: memory-bound ops (norm, ReLU, copies) then run
at page-fault speed, not memory speed. `retain_freed_memory()` raises the mmap threshold and the
trim threshold, so large blocks come from the heap and are reused by the next step, as a caching
allocator does on a GPU; one arena for all threads, since jobs run in worker threads. Freed memory
is not handed back between steps, so the resident size stays near the peak (and the peak can be a
little higher, as freed blocks are not always reused exactly). The speed-up is measured by
`benchmarks/roofline.py` (run it with and without `DCLAB_RETAIN_MEMORY=0`).

Applied by the entry points (the CLI, the app, the benchmarks), never on import. Only glibc has
`mallopt`; elsewhere this is a no-op. `DCLAB_RETAIN_MEMORY=0` turns it off.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

ENV_VAR = "DCLAB_RETAIN_MEMORY"
_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_MMAP_THRESHOLD = 1 << 30  # blocks up to 1 GiB come from the heap
_TRIM_THRESHOLD = (1 << 31) - 1  # never trim the heap's top between steps

_applied = False


def _libc_mallopt():  # helper: glibc's mallopt, or None where there is none
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return getattr(libc, "mallopt", None)


def retain_freed_memory() -> bool:
    """Apply the policy once per process; return whether it is in force."""
    global _applied
    if _applied:
        return True
    if os.environ.get(ENV_VAR, "1").strip() in ("0", "false", "no", "off"):
        return False
    mallopt = _libc_mallopt()
    if mallopt is None:
        return False
    # one arena: a worker thread's own arena is a 64 MiB mmap'd heap, too small for these blocks,
    # so jobs running in threads (the CLI's and the app's) would still mmap them
    _applied = (bool(mallopt(_M_ARENA_MAX, 1)) and bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD))
                and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)))
    return _applied


def memory_policy() -> str:
    """How freed memory is handled in this process, for run records and benchmark tables."""
    return "retained" if _applied else "system default"
