"""The CLI's progress bar: tqdm (bar, count, rate, ETA), with a free-form suffix (e.g. the loss) and
`write(line)` for messages printed above the bar (tqdm keeps the bar at the bottom).

`ProgressBar.callback` has the `progress(done, total)` shape of `dclab.progress.Progress`, so any
core computation can drive it.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO

from tqdm import tqdm

from dclab.distributed import is_rank0
from dclab.progress import Progress

TTY_REFRESH_S = 0.1
PIPE_REFRESH_S = 5.0  # into a file or pipe: a redraw at most every 5 s keeps logs readable


class ProgressBar:
    """Drawn from the first report on (an error before it leaves stderr with just its one line)."""

    def __init__(self, total: int, label: str = "", stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.label = max(int(total), 1), label
        self._bar: tqdm | None = None

    def _drawn(self) -> tqdm:
        if self._bar is None:
            tty = bool(getattr(self.stream, "isatty", lambda: False)())
            self._bar = tqdm(total=self.total, desc=self.label or None, file=self.stream, unit="it",
                             dynamic_ncols=tty, mininterval=TTY_REFRESH_S if tty else PIPE_REFRESH_S)
        return self._bar

    def update(self, done: int, suffix: str = "", force: bool = False) -> None:
        """Move the bar to `done` (absolute), with `suffix` after the numbers."""
        bar = self._drawn()
        bar.update(max(0, int(done) - bar.n))
        if suffix != (bar.postfix or ""):
            bar.set_postfix_str(suffix, refresh=False)
        if force:
            bar.refresh()

    def write(self, line: str) -> None:
        """Print a line above the bar."""
        tqdm.write(line, file=self.stream)

    def close(self, done: int | None = None, suffix: str = "") -> None:
        """Draw the final state and end the line."""
        if done is not None:
            self.update(done, suffix)
        if self._bar is not None:
            self._bar.close()

    def callback(self, done: int, total: int) -> None:
        """`progress(done, total)`: the total may change with the first report."""
        if total and total != self.total:
            self.total = int(total)
            if self._bar is not None:
                self._bar.total = self.total
        self.update(done, force=done >= total)


@contextlib.contextmanager
def progress_bar(label: str, quiet: bool = False) -> Iterator[Progress | None]:
    """A `progress(done, total)` callback drawing on stderr (None when quiet: --json, or not rank 0 under
    torchrun), closed on exit."""
    if quiet or not is_rank0():
        yield None
        return
    bar = ProgressBar(1, label)
    try:
        yield bar.callback
    finally:
        bar.close()
