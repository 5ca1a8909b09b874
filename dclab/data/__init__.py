"""Data sets: a registry of loaders returning one typed `DatasetBundle`.

Every module in this package is imported here, so its `@DATASETS.register` entries exist.
"""
from __future__ import annotations

from pathlib import Path

from dclab.autoload import import_submodules
from dclab.data.bundle import DatasetBundle
from dclab.data.errors import DatasetUnavailableError
from dclab.data.registry import DATASETS, IMAGEFOLDER_PREFIX, default_data_root

__all__ = [
    "DATASETS",
    "DatasetBundle",
    "DatasetUnavailableError",
    "default_data_root",
    "list_datasets",
    "load_dataset",
]

import_submodules(__name__, __path__)

_MEMORY_CACHE: dict[tuple[str, str], DatasetBundle] = {}


def list_datasets() -> list[str]:
    return DATASETS.names()


def load_dataset(
    name: str, root: str | Path | None = None, download: bool = True
) -> DatasetBundle:
    """Load a registered data set (or `imagefolder:<path>`), memoised per process.

    Raises `UnknownNameError` for an unknown name and `DatasetUnavailableError` when the files
    are missing and cannot be downloaded; both carry a one-line message for the user.
    """
    root_path = Path(root) if root is not None else default_data_root()
    key = (name, str(root_path))
    if key not in _MEMORY_CACHE:
        if name.startswith(IMAGEFOLDER_PREFIX):
            from dclab.data.imagefolder import load_imagefolder

            bundle = load_imagefolder(Path(name[len(IMAGEFOLDER_PREFIX):]), cache_root=root_path)
        else:
            bundle = DATASETS.get(name)(root_path, download)
        _MEMORY_CACHE[key] = bundle
    return _MEMORY_CACHE[key]
