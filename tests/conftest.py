"""Shared fixtures. Real data for tests lives in ../shared/data beside the checkout (CI has it)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(os.environ.get("DCLAB_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"offline data copies not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def digits():
    from dclab.data import load_dataset

    return load_dataset("digits")
