"""Shared fixtures. Real data for tests lives in ../shared/data beside the checkout (CI has it)."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(os.environ.get("DCLAB_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

torch.set_num_threads(1)

# Ctrl-C as a terminal delivers it, however pytest was started: a shell without job control starts
# background commands with SIGINT ignored, and then neither this process nor the CLI subprocesses
# the tests interrupt would turn SIGINT into KeyboardInterrupt (a handled signal resets to the
# default in a child, so the subprocesses get it too).
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"offline data copies not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def digits():
    from dclab.data import load_dataset

    return load_dataset("digits")
