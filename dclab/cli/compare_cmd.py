"""`compare`: accuracy of several runs, each under the protocol the flags name (`dclab.analysis.compare`)."""
from __future__ import annotations

import argparse
import json

from dclab.cli.common import add_analysis_args, add_protocol_args, open_runs, protocol_settings
from dclab.cli.progress import progress_bar

NAME = "compare"
HELP = "accuracy of two or more runs side by side, each with its protocol (published by default)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", help="run folders")
    add_protocol_args(parser, default="published")
    add_analysis_args(parser)


def run(args: argparse.Namespace) -> int:
    from dclab.analysis.compare import plan_accuracy
    from dclab.threads import apply_threads

    apply_threads(args.threads)
    plan = plan_accuracy(open_runs(args.runs), protocol_settings(args), device=args.device, data_root=args.data_root)
    with progress_bar("compare", args.json) as bar:
        results = plan.run(bar)
    if args.json:
        print(json.dumps({"runs": [r.to_json() for r in results]}))
    else:
        for r in results:
            rec = r.run.record
            print(f"{rec.run_id}: {rec.method} IPC {rec.ipc}: {r.result.summary()}")
    return 0
