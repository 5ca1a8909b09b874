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


def add_protocol_args(parser: argparse.ArgumentParser, default: str) -> None:
    """--protocol PRESET plus --models / --epochs overrides (the settings an analysis resolves)."""
    parser.add_argument("--protocol", default=default, help=f"evaluation protocol preset (default {default}; "
                        "published = each set under its own paper's protocol, scaled on a CPU)")
    parser.add_argument("--models", type=int, help="K networks per evaluation (overrides the preset)")
    parser.add_argument("--epochs", type=int, help="training epochs per network (overrides the preset)")


def protocol_settings(args: argparse.Namespace) -> dict[str, object]:
    """{"preset": --protocol, **the overrides given}: what `resolve_settings` / `build_protocol` take."""
    from dclab.eval.protocol import EvalProtocol

    EvalProtocol.build(args.protocol)  # an unknown preset: one-line error before any work
    extra = {k: v for k, v in (("models", args.models), ("epochs", args.epochs)) if v is not None}
    return {"preset": args.protocol, **extra}


def open_runs(paths: list[str]):
    """RunDir of every path (RunNotFoundError, one line, for a folder that is not a run)."""
    from dclab.runs.store import RunDir

    return [RunDir.open(p) for p in paths]


def add_analysis_args(parser: argparse.ArgumentParser) -> None:
    """What every analysis command takes besides its runs: data root, device and threads, --json."""
    add_data_args(parser)
    add_device_arg(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object, no progress bar")
