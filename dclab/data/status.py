"""Is a data set available here? Answered from file existence only, without loading anything.

Loader modules register a `check(root) -> (available, detail)` next to their loader with
`@register_check(name)`; the same check builds their `DatasetUnavailableError` message, so the
status page and the error always agree. Entries without a check (e.g. the bundled `digits`) are
always available.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dclab.data.registry import DATASETS, IMAGEFOLDER_PREFIX, default_data_root

Check = Callable[[Path], tuple[bool, str]]
_CHECKS: dict[str, Check] = {}


@dataclass(frozen=True)
class DatasetStatus:
    name: str
    available: bool
    detail: str  # where the files are, or which files are expected where


def register_check(name: str) -> Callable[[Check], Check]:
    """Decorator: register the file check of data set `name`."""

    def decorator(check: Check) -> Check:
        _CHECKS[name] = check
        return check

    return decorator


def find_files(
    folders: list[Path], names: list[str], suffixes: tuple[str, ...] = ("",)
) -> tuple[Path | None, dict[str, Path]]:
    """The first folder holding every file of `names` (each possibly with one of `suffixes`).

    Returns (folder, {name: path}) or (None, {}) when no folder is complete.
    """
    for folder in folders:
        found: dict[str, Path] = {}
        for n in names:
            for suffix in suffixes:
                p = folder / (n + suffix)
                if p.is_file():
                    found[n] = p
                    break
        if len(found) == len(names):
            return folder, found
    return None, {}


def dataset_status(name: str, root: str | Path | None = None) -> DatasetStatus:
    """Availability of one data set (registered name or `imagefolder:<path>`) under `root`."""
    root_path = Path(root) if root is not None else default_data_root()
    if name.startswith(IMAGEFOLDER_PREFIX):
        from dclab.data.imagefolder import imagefolder_check

        ok, detail = imagefolder_check(Path(name[len(IMAGEFOLDER_PREFIX):]))
        return DatasetStatus(name, ok, detail)
    DATASETS.get(name)  # unknown name -> UnknownNameError listing the valid names
    check = _CHECKS.get(name)
    if check is None:
        return DatasetStatus(name, True, "built in")
    ok, detail = check(root_path)
    return DatasetStatus(name, ok, detail)


def all_dataset_status(root: str | Path | None = None) -> list[DatasetStatus]:
    """Status of every registered data set, in registry order (for `datasets` CLI and home page)."""
    return [dataset_status(n, root) for n in DATASETS.names()]
