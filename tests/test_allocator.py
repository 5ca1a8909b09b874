"""The CPU memory policy (dclab/allocator.py): a large freed tensor stays in the heap for reuse.

Each case runs in a fresh interpreter, since the policy is process-wide; glibc's `mallinfo2` tells
whether a 64 MiB tensor was served by mmap (`hblkhd`) and whether its memory stayed in the heap
after `del` (`fordblks`, free bytes kept in the main arena, which worker threads share under the policy).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import ctypes, json, torch
from dclab.allocator import memory_policy, retain_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
import threading
applied = retain_freed_memory()
seen = {}
def work():  # in a worker thread, as jobs run in the CLI and the app
    x = torch.empty(64 << 20, dtype=torch.uint8)
    x.fill_(1)
    seen["held"] = libc.mallinfo2()
    del x
    seen["freed"] = libc.mallinfo2()
t = threading.Thread(target=work)
t.start()
t.join()
held, freed = seen["held"], seen["freed"]
print(json.dumps({"applied": applied, "policy": memory_policy(), "mmapped_while_held": held.hblkhd,
                  "heap_free_after_del": freed.fordblks}))
"""

BLOCK = 64 << 20


def _probe(env_value: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DCLAB_RETAIN_MEMORY"}
    if env_value is not None:
        env["DCLAB_RETAIN_MEMORY"] = env_value
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt/mallinfo2 are glibc (Linux) calls")
def test_large_blocks_come_from_the_heap_and_stay_there():
    r = _probe(None)
    assert r["applied"] is True and r["policy"] == "retained"
    assert r["mmapped_while_held"] < BLOCK  # served from the heap, not a fresh mmap
    assert r["heap_free_after_del"] >= BLOCK  # kept for the next step, not given back to the kernel


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt/mallinfo2 are glibc (Linux) calls")
def test_switched_off_large_blocks_are_mmapped_and_returned():
    r = _probe("0")
    assert r["applied"] is False and r["policy"] == "system default"
    assert r["mmapped_while_held"] >= BLOCK  # glibc's default: a block this size is its own mmap
    assert r["heap_free_after_del"] < BLOCK
