"""Does a method beat its own starting point? Accuracy of the initial set (random real images)
and of the condensed set, evaluated under one stated protocol.

Example (MNIST IPC 10, torchvision layout root with MNIST/raw/*.gz):

    OMP_NUM_THREADS=1 python -m benchmarks.method_vs_init --method dm --dataset mnist \
        --data-root /tmp/dclab_mnist --ipc 10 --iterations 500 --protocol fast --set lr_img=10
"""
from __future__ import annotations

import argparse
import time

import torch

from benchmarks.run_args import add_condense_eval_args, method_overrides, protocol_from
from dclab.data import load_dataset
from dclab.device import describe_device, resolve_device
from dclab.errors import guarded
from dclab.eval.evaluate import evaluate_synthetic
from dclab.methods import get_method


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", default="dm")
    p.add_argument("--iterations", type=int, default=None, help="override the preset's iterations")
    add_condense_eval_args(p)
    args = p.parse_args()

    device = resolve_device(args.device)
    data = load_dataset(args.dataset, root=args.data_root, download=False)
    cls = get_method(args.method)
    overrides: dict[str, object] = dict(method_overrides(args))
    if args.iterations is not None:
        overrides["iterations"] = args.iterations
    cfg = cls.config_class.build(args.preset, overrides)
    protocol = protocol_from(args)
    method = cls(data, args.ipc, cfg, seed=args.seed, device=device)
    print(f"{args.method} on {args.dataset} IPC {args.ipc}, {describe_device(device)}, "
          f"torch threads {torch.get_num_threads()}; config {cfg.to_dict()}", flush=True)
    init_set = method.synthetic_set()

    start, losses = time.perf_counter(), []
    while not method.done:
        losses.append(method.step().loss)
        if len(losses) % max(1, method.total_iterations // 10) == 0:
            print(f"  iteration {len(losses)}/{method.total_iterations}: loss {losses[-1]:.4f}", flush=True)
    seconds = time.perf_counter() - start
    print(f"condensed in {seconds:.1f} s ({len(losses) / max(seconds, 1e-9):.2f} it/s)", flush=True)

    print(f"protocol: {protocol.describe()}")
    for label, syn in (("init (random real)", init_set), (f"{args.method} final", method.synthetic_set())):
        res = evaluate_synthetic(syn, data, protocol, device=device)
        print(f"{label:20s} {100 * res.mean:6.2f} ± {100 * res.std:.2f} %", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
