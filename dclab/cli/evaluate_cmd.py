"""`evaluate`: accuracy of a run's images, or of a coreset, under a stated evaluation protocol."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator

from dclab.cli.common import add_data_args, add_device_arg
from dclab.cli.progress import ProgressBar
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


def build_protocol(args: argparse.Namespace, synthetic):
    """The protocol for this set: `--protocol` (published = the set's own), then the flags."""
    from dclab.eval.published import protocol_for_set
    from dclab.nets import NETS

    overrides = {k: v for k, v in {"models": args.models, "epochs": args.epochs, "net": args.net,
                                   "augment": args.augment, "lr": args.lr, "seed": args.seed}.items()
                 if v is not None}
    protocol = protocol_for_set(synthetic, args.protocol, overrides=overrides, device=args.device)
    NETS.get(protocol.net)  # unknown network: one-line UnknownNameError
    return protocol


def load_target(args: argparse.Namespace):
    """(synthetic set, data bundle) named by the arguments."""
    from dclab.data import load_dataset

    if args.run_dir and args.coreset:
        raise ValueError("give either a run folder or --coreset, not both")
    if args.run_dir:
        from dclab.runs.reader import run_dataset, run_images
        from dclab.runs.record import read_record
        from dclab.runs.store import RunDir

        run = RunDir.open(args.run_dir)
        data = run_dataset(read_record(run), args.dataset, args.data_root)
        synthetic, source = run_images(run)
        if not args.json:
            print(f"images: {source} of {run.run_id}", file=sys.stderr, flush=True)
        return synthetic, data
    if not args.coreset:
        raise ValueError("give a run folder or --coreset NAME --dataset D --ipc N")
    if not args.dataset or args.ipc is None:
        raise ValueError("--coreset needs --dataset and --ipc")
    from dclab.coresets import CORESETS, select_coreset

    CORESETS.get(args.coreset)  # fail on a bad name before loading data
    data = load_dataset(args.dataset, root=args.data_root)
    with progress_bar(f"{args.coreset} selection", args.json) as bar:
        return select_coreset(args.coreset, data, args.ipc, seed=args.seed, device=args.device,
                              progress=bar), data


@contextlib.contextmanager
def progress_bar(label: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A `progress(done, total)` callback drawing on stderr (None when quiet), line ended on exit."""
    if quiet:
        yield None
        return
    bar = ProgressBar(1, label)
    try:
        yield bar.callback
    finally:
        bar.close()


def run(args: argparse.Namespace) -> int:
    from dclab.eval.evaluate import evaluate_cross_arch, evaluate_synthetic
    from dclab.eval.protocol import EvalProtocol
    from dclab.nets import NETS
    from dclab.threads import apply_threads

    apply_threads(args.threads)

    EvalProtocol.build(args.protocol)  # unknown preset: one-line error before any work
    nets = [n.strip() for n in (args.cross_arch or "").split(",") if n.strip()]
    for n in nets + ([args.net] if args.net else []):
        NETS.get(n)
    synthetic, data = load_target(args)
    protocol = build_protocol(args, synthetic)
    if tuple(synthetic.images.shape[1:]) != data.shape:
        raise ValueError(f"images of shape {tuple(synthetic.images.shape[1:])} do not fit {data.name} {data.shape}")
    with progress_bar(f"evaluating ({protocol.net})", args.json) as bar:
        result = evaluate_synthetic(synthetic, data, protocol, device=args.device, progress=bar)
    cross = {}
    if nets:
        with progress_bar("cross-architecture", args.json) as bar:
            cross = evaluate_cross_arch(synthetic, data, protocol, nets, device=args.device, progress=bar)
    if args.json:
        out = result.to_dict()
        if cross:
            out["cross_arch"] = {n: r.to_dict() for n, r in cross.items()}
        print(json.dumps(out))
    else:
        print(f"{synthetic.method} on {data.name}, IPC {synthetic.ipc}: {result.summary()}")
        for n, r in cross.items():
            print(f"  {n}: {r.summary()}")
    return 0
