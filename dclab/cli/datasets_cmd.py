"""`datasets`: every registered data set and whether it can be loaded here."""
from __future__ import annotations

import argparse
import json

NAME = "datasets"
HELP = "list the registered data sets and whether each is available here"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", default=None, help="folder holding data sets (default $DCLAB_DATA "
                        "or ~/.cache/dclab/data)")
    parser.add_argument("--json", action="store_true", help="print a JSON list")


def run(args: argparse.Namespace) -> int:
    from dclab.data.status import all_dataset_status

    rows = all_dataset_status(args.data_root)
    if args.json:
        print(json.dumps([{"name": s.name, "available": s.available, "detail": s.detail} for s in rows]))
        return 0
    width = max([len(s.name) for s in rows] + [4])
    for s in rows:
        print(f"{s.name:<{width}}  {'available' if s.available else 'missing  '}  {s.detail}")
    return 0
