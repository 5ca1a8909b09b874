"""A text progress bar for the CLI: bar, count, iterations/s, ETA and a free-form suffix (loss).

On a terminal it redraws one line (at most `TTY_REFRESH_S` apart); into a file or pipe it
writes a plain line at most every `PIPE_REFRESH_S`, so logs stay readable.
"""
from __future__ import annotations

import math
import sys
import time
from typing import TextIO

TTY_REFRESH_S = 0.1
PIPE_REFRESH_S = 5.0


def format_duration(seconds: float | None) -> str:
    """'1:02:03', '4:05', or '?' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressBar:
    """`update(done, rate=..., eta=..., suffix=...)`; rate/ETA are measured here when not given."""

    def __init__(self, total: int, label: str = "", stream: TextIO | None = None, width: int = 28) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._start = time.monotonic()
        self._last_draw = float("-inf")
        self._line = ""
        self._drawn: tuple[int, str] | None = None  # (done, suffix) of the last line drawn

    def render(self, done: int, rate: float | None = None, eta: float | None = None, suffix: str = "") -> str:
        """The bar as one line of text, e.g. '[#####.....] 50/100 12.3 it/s ETA 0:04 loss 0.12'."""
        done = min(max(int(done), 0), self.total)
        if rate is None:
            elapsed = time.monotonic() - self._start
            rate = done / elapsed if done and elapsed > 0 else None
        if eta is None and rate:
            eta = (self.total - done) / rate
        filled = int(self.width * done / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        speed = f"{rate:.2f} it/s" if rate else "? it/s"
        parts = [self.label, f"[{bar}]", f"{done}/{self.total}", speed, f"ETA {format_duration(eta)}", suffix]
        return " ".join(p for p in parts if p)

    def update(self, done: int, rate: float | None = None, eta: float | None = None, suffix: str = "",
               force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < (TTY_REFRESH_S if self._tty else PIPE_REFRESH_S):
            return
        self._last_draw = now
        self._drawn = (done, suffix)
        line = self.render(done, rate, eta, suffix)
        if self._tty:
            pad = " " * max(0, len(self._line) - len(line))
            self.stream.write("\r" + line + pad)
        else:
            self.stream.write(line + "\n")
        self._line = line
        self.stream.flush()

    def close(self, done: int | None = None, suffix: str = "") -> None:
        """Draw the final state and end the line."""
        if done is not None and self._drawn != (done, suffix):
            self.update(done, suffix=suffix, force=True)
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()

    def callback(self, done: int, total: int) -> None:
        """`progress(done, total)` signature used by evaluation and coreset selection."""
        self.total = max(int(total), 1)
        self.update(done, force=done >= total)
