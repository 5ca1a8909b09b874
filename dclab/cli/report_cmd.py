"""`report RUN [RUN ...] --html OUT`: one self-contained HTML file comparing runs (grids, difference
maps, loss curves, per-class losses; with --payoff the payoff chart, with --timeline the coverage
animation), every accuracy with its protocol line."""
from __future__ import annotations

import argparse
import sys

from dclab.cli.common import add_data_args, add_device_arg

NAME = "report"
HELP = "write one self-contained HTML file comparing runs (grids, curves, payoff chart, protocol)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", help="run folders (all on one data set)")
    parser.add_argument("--html", required=True, help="the HTML file to write")
    parser.add_argument("--payoff", action="store_true", help="add the payoff chart (trains networks: minutes)")
    parser.add_argument("--timeline", action="store_true", help="add the coverage animation (feature net, cached)")
    parser.add_argument("--protocol", default="fast", help="protocol preset of the payoff chart (default fast)")
    parser.add_argument("--models", type=int, help="K networks per payoff bar")
    parser.add_argument("--epochs", type=int, help="epochs per payoff network")
    parser.add_argument("--baseline", default="herding", help="the coreset bar of the payoff chart")
    parser.add_argument("--seed", type=int, default=0)
    add_data_args(parser)
    add_device_arg(parser)


def run(args: argparse.Namespace) -> int:
    from dclab.analysis.report import comparison_html
    from dclab.runs.store import RunDir
    from dclab.threads import apply_threads

    apply_threads(args.threads)
    dirs = [RunDir.open(r) for r in args.runs]  # RunNotFoundError: one line
    payoff = timeline = None
    if args.payoff or args.timeline:
        data = _data(dirs, args)
        if args.payoff:
            payoff = _payoff(dirs, data, args)
        if args.timeline:
            from dclab.analysis.coverage_timeline import coverage_timeline

            timeline = coverage_timeline([r.path for r in dirs], data, args.device, seed=args.seed,
                                         progress=_progress("timeline"))
    print(comparison_html([r.path for r in dirs], args.html, payoff=payoff, timeline=timeline))
    return 0


def _progress(what: str):
    return lambda done, total: print(f"[{what}] {done}/{total}", file=sys.stderr, flush=True)


def _data(dirs, args: argparse.Namespace):
    from dclab.runs.reader import run_dataset
    from dclab.runs.record import read_record

    records = [read_record(r) for r in dirs]
    names = {rec.dataset.name for rec in records}
    if len(names) > 1:
        raise ValueError(f"the runs use different data sets ({', '.join(sorted(names))}); choose runs of one")
    return run_dataset(records[0], args.dataset, args.data_root)


def _payoff(dirs, data, args: argparse.Namespace):
    from dclab.analysis.payoff import payoff
    from dclab.cli.evaluate_cmd import build_protocol
    from dclab.coresets import CORESETS
    from dclab.runs.reader import run_images

    CORESETS.get(args.baseline)
    sets = [run_images(r)[0] for r in dirs]
    proto_args = argparse.Namespace(models=args.models, epochs=args.epochs, net=None, augment=None, lr=None,
                                    seed=args.seed, protocol=args.protocol, device=args.device)
    return payoff(sets, data, build_protocol(proto_args, sets[0]), args.device, coreset=args.baseline,
                  seed=args.seed, progress=_progress("payoff"))
