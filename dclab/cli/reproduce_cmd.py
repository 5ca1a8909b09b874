"""`reproduce`: list the published tables, or measure one entry beside its published number."""
from __future__ import annotations

import argparse
import json
import sys

from dclab.cli.common import add_data_args, add_device_arg
from dclab.distributed import is_rank0

NAME = "reproduce"
HELP = "published accuracy tables; condense + evaluate one entry under its published protocol"
DEFAULT_RESULTS = "runs/reproduce.jsonl"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--list", action="store_true", help="print the published tables and their protocols")
    parser.add_argument("--method", help="method or coreset (dc, dsa, dm, ..., random, herding, ...)")
    add_data_args(parser)
    parser.add_argument("--ipc", type=int, help="images per class")
    parser.add_argument("--budget", default="cpu", choices=("cpu", "paper"),
                        help="cpu: the method's cpu preset and a scaled protocol (fewer K/epochs, stated); "
                        "paper: the paper preset and the full published protocol (default cpu)")
    parser.add_argument("--iterations", type=int, help="override the preset's condensation iterations")
    parser.add_argument("--seed", type=int, default=0)
    add_device_arg(parser)
    parser.add_argument("--results", default=DEFAULT_RESULTS, help=f"JSON-lines file the result is appended to "
                        f"(default {DEFAULT_RESULTS})")
    parser.add_argument("--json", action="store_true", help="print JSON, no progress bar")


def list_tables(as_json: bool) -> int:
    from dclab.eval.protocol import PUBLISHED as PRESET
    from dclab.eval.published import resolve_protocol
    from dclab.reproduce import PUBLISHED

    rows = []
    for r in PUBLISHED:
        protocol = resolve_protocol(PRESET, method=r.method, dataset=r.dataset, ipc=r.ipc, budget="paper")
        rows.append({"method": r.method, "dataset": r.dataset, "ipc": r.ipc, "accuracy": r.accuracy, "std": r.std,
                     "source": r.source, "note": r.note, "protocol": protocol.describe()})
    if as_json:
        print(json.dumps(rows))
        return 0
    for row, r in zip(rows, PUBLISHED):
        note = f"  ({r.note})" if r.note else ""
        print(f"{r.method:10s} {r.dataset:13s} IPC {r.ipc:3d}  {r.text():>13s}  {r.source}{note}")
        print(f"{'':29s}protocol: {row['protocol']}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list:
        return list_tables(args.json)
    missing = [f"--{k}" for k in ("method", "dataset", "ipc") if getattr(args, k) is None]
    if missing:
        raise ValueError(f"give --list, or {', '.join(missing)} (e.g. --method dm --dataset mnist --ipc 10)")
    from dclab.cli.progress import ProgressBar
    from dclab.reproduce import BUDGET_TEXT, reproduce
    from dclab.reproduce.run import append_result

    bars: dict[str, ProgressBar] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if args.json or not is_rank0():  # torchrun: rank 0 draws
            return
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars[stage] = ProgressBar(total, label=stage)
        bars[stage].update(done)

    if not args.json and is_rank0():
        print(f"{args.budget} budget: {BUDGET_TEXT[args.budget]}", flush=True)
    result = reproduce(args.method, args.dataset, args.ipc, budget=args.budget, data_root=args.data_root,
                       seed=args.seed, device=args.device, iterations=args.iterations, progress=progress)
    for bar in bars.values():
        bar.close()
    if not is_rank0():  # torchrun: the other ranks computed their share; rank 0 writes and prints
        return 0
    append_result(args.results, result)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result.line())
        print(f"appended to {args.results}", file=sys.stderr)
    return 0
