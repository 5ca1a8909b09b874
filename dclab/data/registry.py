"""Registry of data sets. Each entry is a loader `fn(root: Path, download: bool) -> DatasetBundle`."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from dclab.data.bundle import DatasetBundle
from dclab.registry import Registry

Loader = Callable[[Path, bool], DatasetBundle]
DATASETS: Registry[Loader] = Registry("dataset")

DATA_ROOT_ENV = "DCLAB_DATA"
IMAGEFOLDER_PREFIX = "imagefolder:"


def default_data_root() -> Path:
    """$DCLAB_DATA, else ~/.cache/dclab/data."""
    return Path(os.environ.get(DATA_ROOT_ENV) or Path.home() / ".cache" / "dclab" / "data")
