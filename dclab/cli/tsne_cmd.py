"""`tsne`: a joint t-SNE of runs' images with real ones and each run's coverage (`dclab.analysis.feature_space`)."""
from __future__ import annotations

import argparse
import json

from dclab.cli.common import add_analysis_args, open_runs
from dclab.cli.progress import progress_bar

NAME = "tsne"
HELP = "t-SNE of real vs synthetic features of runs, with coverage and MMD² per run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", help="run folders (one data set)")
    parser.add_argument("--feature-epochs", type=int, help="epochs of the real-data feature net (default: its own)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the real-point sample and of t-SNE")
    parser.add_argument("--points", action="store_true", help="with --json: also the 2-D points")
    add_analysis_args(parser)


def run(args: argparse.Namespace) -> int:
    from dclab.analysis.feature_space import plan_feature_space
    from dclab.threads import apply_threads

    apply_threads(args.threads)
    plan = plan_feature_space(open_runs(args.runs), device=args.device, data_root=args.data_root, seed=args.seed,
                              feature_epochs=args.feature_epochs)
    with progress_bar("t-SNE", args.json) as bar:
        space = plan.run(bar)
    assert space is not None  # no stop event here
    if args.json:
        print(json.dumps(space.to_json(points=args.points)))
    else:
        for rid, c in space.coverage.items():
            print(f"{rid}: coverage ({c.k}-NN) {c.coverage:.3f}, MMD² {c.mmd2:.4f} "
                  f"({c.num_synthetic} synthetic, {c.num_real} real points)")
    return 0
