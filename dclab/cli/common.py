"""Flags and helpers shared by CLI sub-commands."""
from __future__ import annotations

import argparse


def add_data_args(parser: argparse.ArgumentParser, required: bool = False) -> None:
    """--dataset NAME and --data-root DIR."""
    parser.add_argument("--dataset", required=required, help="data set name (see `python -m dclab datasets`)")
    parser.add_argument("--data-root", default=None, help="folder holding data sets (default $DCLAB_DATA "
                        "or ~/.cache/dclab/data)")


def add_device_arg(parser: argparse.ArgumentParser) -> None:
    """--device NAME and --threads N (the CPU thread cap; see dclab/threads.py)."""
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="cap torch's CPU threads at N (default $DCLAB_THREADS, else all cores torch is given)")
