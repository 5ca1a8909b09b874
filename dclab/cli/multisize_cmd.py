"""`multisize`: subset-accuracy curves of an MDC run and its baselines A, B, C (`dclab.analysis.multisize`)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from dclab.cli.common import add_analysis_args, add_protocol_args, open_runs, protocol_settings
from dclab.cli.progress import progress_bar

NAME = "multisize"
HELP = "accuracy of every subset S[n] of an MDC run against baselines (A separate, B IPC-1, C prefixes)"
AUTO = "auto"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mdc_run", help="the MDC run folder")
    parser.add_argument("--baseline-c", default=AUTO, help="plain run with the same IPC ('auto' = the newest "
                        "in the MDC run's runs folder, 'none' = leave C out)")
    parser.add_argument("--separate", nargs="*", default=None, metavar="RUN",
                        help="baseline A runs (IPC n each); default: found in the runs folder")
    parser.add_argument("--ipc1", nargs="*", default=None, metavar="RUN",
                        help="baseline B's IPC-1 runs; default: none (found ones are listed in the JSON)")
    parser.add_argument("--sizes", help="comma-separated n to evaluate (default 1..N)")
    add_protocol_args(parser, default="quick")
    add_analysis_args(parser)


def run(args: argparse.Namespace) -> int:
    from dclab.analysis.multisize import find_baselines, plan_subset_curves
    from dclab.runs.store import RunDir
    from dclab.threads import apply_threads

    apply_threads(args.threads)
    (mdc,) = open_runs([args.mdc_run])
    found = find_baselines(mdc, [r for r in RunDir.list(Path(mdc.path).parent) if r.run_id != mdc.run_id])
    if args.baseline_c == AUTO:
        c = RunDir.open(Path(mdc.path).parent / found.c_candidates[0]) if found.c_candidates else None
    else:
        c = None if args.baseline_c == "none" else open_runs([args.baseline_c])[0]
    if args.separate is None:
        separate = {n: RunDir.open(Path(mdc.path).parent / rid) for n, rid in found.separate.items()}
    else:
        runs = open_runs(args.separate)
        from dclab.runs.record import read_record

        separate = {read_record(r).ipc: r for r in runs}
    sizes = None
    if args.sizes:
        try:
            sizes = [int(n) for n in args.sizes.split(",") if n.strip()]
        except ValueError:
            raise ValueError(f"--sizes expects comma-separated whole numbers, got {args.sizes!r}") from None
    plan = plan_subset_curves(mdc, baseline_c=c, separate=separate, ipc1=open_runs(args.ipc1 or []),
                              settings=protocol_settings(args), sizes=sizes, device=args.device,
                              data_root=args.data_root)
    with progress_bar("subset curves", args.json) as bar:
        curves = plan.run(bar)
    if args.json:
        print(json.dumps({"mdc": mdc.run_id, "baseline_c": None if c is None else c.run_id,
                          "found": found.to_json(), **curves.to_json()}))
    else:
        print(f"protocol: {curves.protocol_text}")
        for name, pts in curves.points().items():
            print(f"{name}: " + ", ".join(f"n={n} {100 * m:.2f}±{100 * s:.2f}" for n, m, s in pts))
        if curves.gain_over_c is not None:
            print(f"MDC average gain over C: {100 * curves.gain_over_c:+.2f} points")
    return 0
