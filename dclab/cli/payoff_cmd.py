"""`payoff RUN`: the run's images against random real images and a coreset of the same size and the
whole training set, under one protocol (the whole-set bar is cached per data set and protocol)."""
from __future__ import annotations

import argparse
import json
import sys

from dclab.cli.common import add_data_args, add_device_arg

NAME = "payoff"
HELP = "accuracy of a run's images vs random real / a coreset of the same size / the whole training set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="run folder (final.pt, else its latest images)")
    add_data_args(parser)
    parser.add_argument("--protocol", default="fast", help="protocol preset for every bar (default fast: "
                        "K=5, 100 epochs, no aug); published = the set's own paper protocol")
    parser.add_argument("--models", type=int, help="K networks per bar (overrides the preset)")
    parser.add_argument("--epochs", type=int, help="epochs per network (overrides the preset; the whole "
                        "set trains at most --whole-steps steps)")
    parser.add_argument("--baseline", default="herding", help="the coreset bar (herding, kcenter, forgetting, random)")
    parser.add_argument("--whole-steps", type=int, default=None, help="SGD steps per whole-set network at most")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random/coreset selections and the networks")
    add_device_arg(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object, no progress")


def run(args: argparse.Namespace) -> int:
    from dclab.analysis.payoff import WHOLE_STEPS, payoff
    from dclab.analysis.evaluation import plan_evaluation
    from dclab.cli.evaluate_cmd import read_run
    from dclab.coresets import CORESETS
    from dclab.eval.protocol import EvalProtocol
    from dclab.threads import apply_threads

    apply_threads(args.threads)
    EvalProtocol.build(args.protocol)  # unknown preset: one line before any work
    CORESETS.get(args.baseline)
    if args.whole_steps is not None and args.whole_steps < 1:
        raise ValueError(f"--whole-steps must be >= 1, got {args.whole_steps}")
    synthetic, data, _ = read_run(args.run_dir, args.dataset, args.data_root, quiet=args.json)
    settings = {"preset": args.protocol, "seed": args.seed,
                **{k: v for k, v in {"models": args.models, "epochs": args.epochs}.items() if v is not None}}
    protocol = plan_evaluation(data, settings, synthetic=synthetic, device=args.device).protocol

    def progress(done: int, total: int) -> None:
        if not args.json:
            print(f"[payoff] {done}/{total} bars", file=sys.stderr, flush=True)

    result = payoff(synthetic, data, protocol, args.device, coreset=args.baseline, seed=args.seed,
                    progress=progress, whole_steps=args.whole_steps or WHOLE_STEPS)
    print(json.dumps(result.to_dict()) if args.json else result.describe())
    return 0
