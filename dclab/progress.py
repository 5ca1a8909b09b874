"""Progress reporting, one shape everywhere: `progress(done, total)` with done in 0..total.

Long computations (evaluations, coreset selection, expert training, analyses) take an optional
`progress` callback of this type; front ends draw it (tqdm on the CLI, a bar on a page).
"""
from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]


def report_to(progress: Progress | None) -> Progress:
    """`progress`, or a callback that ignores every report."""
    return progress if progress is not None else (lambda done, total: None)


def sub_progress(progress: Progress | None, offset: int, total: int) -> Progress | None:
    """A callback for one part of a longer task: part-local `done` reported as `offset + done` of `total`."""
    if progress is None:
        return None
    return lambda done, _part_total: progress(offset + done, total)
