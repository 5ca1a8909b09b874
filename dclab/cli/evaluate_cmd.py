"""`evaluate`: accuracy of a run's images, or of a coreset, under a stated evaluation protocol."""
from __future__ import annotations

import argparse
import json
import sys

from dclab.cli.common import add_data_args, add_device_arg
from dclab.cli.progress import progress_bar
from dclab.distributed import is_rank0
from dclab.eval.protocol import AUGMENTS

NAME = "evaluate"
HELP = "train K fresh networks on a run's images (or a coreset) and report test accuracy mean ± std"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", nargs="?", help="run folder (final.pt, else its latest images)")
    parser.add_argument("--coreset", help="evaluate a coreset instead of a run (random, herding, ...)")
    add_data_args(parser)
    parser.add_argument("--ipc", type=int, help="images per class of the coreset")
    parser.add_argument("--protocol", default="published", help="protocol preset: published (the set's own "
                        "paper protocol, scaled on a CPU; default), paper, paper_dsa, fast, quick")
    parser.add_argument("--models", type=int, help="K networks to train (overrides the preset)")
    parser.add_argument("--epochs", type=int, help="training epochs per network (overrides the preset)")
    parser.add_argument("--net", help="network to evaluate with (default convnet)")
    parser.add_argument("--augment", choices=AUGMENTS, help="augmentation while training")
    parser.add_argument("--lr", type=float, help="SGD learning rate")
    add_device_arg(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed of the coreset and of the networks")
    parser.add_argument("--cross-arch", help="also evaluate with these networks, comma separated")
    parser.add_argument("--json", action="store_true", help="print one JSON object, no progress bar")


def protocol_settings(args: argparse.Namespace) -> dict[str, object]:
    """{"preset": --protocol, **the protocol flags given} (published = the set's own protocol)."""
    overrides = {"models": args.models, "epochs": args.epochs, "net": args.net, "augment": args.augment,
                 "lr": args.lr, "seed": args.seed}
    return {"preset": args.protocol, **{k: v for k, v in overrides.items() if v is not None}}


def read_run(run_dir: str, dataset: str | None, data_root: str | None, quiet: bool = False):
    """(images, data bundle, run id) of a run folder: final.pt, else its latest images (said on stderr)."""
    from dclab.runs.reader import run_dataset, run_images
    from dclab.runs.record import read_record
    from dclab.runs.store import RunDir

    run = RunDir.open(run_dir)
    data = run_dataset(read_record(run), dataset, data_root)
    synthetic, source = run_images(run)
    if not quiet and is_rank0():
        print(f"images: {source} of {run.run_id}", file=sys.stderr, flush=True)
    return synthetic, data, run.run_id


def plan(args: argparse.Namespace):
    """The checked evaluation the arguments name (a run's images, or a coreset to select)."""
    from dclab.analysis.evaluation import CoresetChoice, plan_evaluation
    from dclab.data import load_dataset
    from dclab.eval.protocol import EvalProtocol

    EvalProtocol.build(args.protocol)  # unknown preset: one-line error before any work
    cross = [n.strip() for n in (args.cross_arch or "").split(",") if n.strip()]
    if args.run_dir and args.coreset:
        raise ValueError("give either a run folder or --coreset, not both")
    if args.run_dir:
        synthetic, data, run_id = read_run(args.run_dir, args.dataset, args.data_root, quiet=args.json)
        return plan_evaluation(data, protocol_settings(args), synthetic=synthetic, what=run_id, cross=cross,
                               device=args.device)
    if not args.coreset:
        raise ValueError("give a run folder or --coreset NAME --dataset D --ipc N")
    if not args.dataset or args.ipc is None:
        raise ValueError("--coreset needs --dataset and --ipc")
    from dclab.coresets import CORESETS

    CORESETS.get(args.coreset)  # fail on a bad name before loading data
    data = load_dataset(args.dataset, root=args.data_root)
    return plan_evaluation(data, protocol_settings(args), coreset=CoresetChoice(args.coreset, args.ipc, args.seed),
                           cross=cross, device=args.device)


def run(args: argparse.Namespace) -> int:
    from dclab.threads import apply_threads

    apply_threads(args.threads)
    checked = plan(args)
    with progress_bar(f"evaluating ({checked.protocol.net})", args.json) as bar:
        accuracy = checked.run(progress=bar)
    if not is_rank0():  # torchrun: the other ranks trained their share of the nets; rank 0 reports
        return 0
    if args.json:
        print(json.dumps(accuracy.to_json()))
    else:
        print("\n".join(accuracy.lines()))
    return 0
