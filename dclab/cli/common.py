"""Flags and helpers shared by CLI sub-commands."""
from __future__ import annotations

import argparse
import sys
import time


def add_data_args(parser: argparse.ArgumentParser, required: bool = False) -> None:
    """--dataset NAME and --data-root DIR."""
    parser.add_argument("--dataset", required=required, help="data set name (see `python -m dclab datasets`)")
    parser.add_argument("--data-root", default=None, help="folder holding data sets (default $DCLAB_DATA "
                        "or ~/.cache/dclab/data)")


def add_device_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")


class ProgressBar:
    """A text progress bar on stderr, usable as a `progress(done, total)` callback."""

    def __init__(self, label: str, stream=None, width: int = 30) -> None:
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        bar = "#" * int(frac * self.width)
        secs = time.perf_counter() - self.start
        self.stream.write(f"\r{self.label} [{bar:<{self.width}}] {done}/{total} {secs:5.0f}s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
