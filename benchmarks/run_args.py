"""Arguments shared by the benchmarks that condense and then evaluate (one definition)."""
from __future__ import annotations

import argparse

from dclab.config import parse_assignments
from dclab.eval.protocol import EvalProtocol


def add_condense_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="digits")
    p.add_argument("--data-root", default=None)
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--preset", default="cpu")
    p.add_argument("--set", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
                   help="method setting overrides (`--set a=1 b=2` or repeated `--set`)")
    p.add_argument("--protocol", default="fast", help="evaluation preset: paper, paper_dsa, fast, quick")
    p.add_argument("--models", type=int, default=None, help="K networks (overrides the preset)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per network (overrides the preset)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def method_overrides(args: argparse.Namespace) -> dict[str, str]:
    return parse_assignments(args.set)


def protocol_from(args: argparse.Namespace) -> EvalProtocol:
    overrides = {k: v for k, v in (("models", args.models), ("epochs", args.epochs)) if v is not None}
    return EvalProtocol.build(args.protocol, overrides)
