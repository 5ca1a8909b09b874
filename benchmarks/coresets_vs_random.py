"""Coresets against random selection on one data set, under one stated protocol (paired: every
coreset is evaluated with the same K nets / seeds).

Example (MNIST, torchvision layout root with MNIST/raw/*.gz):

    OMP_NUM_THREADS=1 python -m benchmarks.coresets_vs_random --dataset mnist \
        --data-root /tmp/dclab_mnist --ipc 1 10 --models 3 --epochs 300
"""
from __future__ import annotations

import argparse
import time

import torch

from dclab.coresets import list_coresets, select_coreset
from dclab.data import load_dataset
from dclab.device import resolve_device
from dclab.errors import guarded
from dclab.eval.evaluate import evaluate_synthetic
from dclab.eval.feature_net import real_training
from dclab.eval.protocol import EvalProtocol


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--data-root", default=None)
    p.add_argument("--ipc", type=int, nargs="+", default=[1, 10])
    p.add_argument("--coresets", nargs="+", default=None, help="default: every registered coreset")
    p.add_argument("--models", type=int, default=3)
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    device = resolve_device("cpu")
    data = load_dataset(args.dataset, root=args.data_root, download=False)
    protocol = EvalProtocol.build(None, {"models": args.models, "epochs": args.epochs})
    print(f"{args.dataset}, torch threads {torch.get_num_threads()}; protocol: {protocol.describe()}", flush=True)
    names = args.coresets or list_coresets()
    start = time.perf_counter()
    run = real_training(data, seed=args.seed, device=device)
    print(f"{run.describe()}; forgetting events: mean {run.forgetting.float().mean():.2f}, max "
          f"{int(run.forgetting.max())}, never learned {int((~run.learned).sum())} "
          f"(loaded/trained in {time.perf_counter() - start:.0f} s)", flush=True)
    for ipc in args.ipc:
        for name in names:
            start = time.perf_counter()
            syn = select_coreset(name, data, ipc, seed=args.seed, device=device)
            chosen = time.perf_counter() - start
            res = evaluate_synthetic(syn, data, protocol, device=device)
            print(f"IPC {ipc:3d} {name:11s} {100 * res.mean:6.2f} ± {100 * res.std:5.2f} %  "
                  f"(selection {chosen:6.1f} s, evaluation {res.seconds:6.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
