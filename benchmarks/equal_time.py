"""Methods at the same wall-clock budget: condense each for --seconds, evaluate under one protocol.

Each method runs its preset (iterations set high enough) until the budget is spent, checked after
every iteration, from the same seed; then its set is evaluated (a multi-formation set, e.g. IDC's,
trains on its decoded images).

Example (IDC against DC on MNIST IPC 10, 5 minutes each):

    OMP_NUM_THREADS=1 python -m benchmarks.equal_time --dataset mnist --data-root /tmp/dclab_mnist \\
        --ipc 10 --methods idc dc --seconds 300 --protocol quick
"""
from __future__ import annotations

import argparse
import time

from benchmarks.run_args import add_condense_eval_args, method_overrides, protocol_from
from dclab.data import load_dataset
from dclab.device import resolve_device
from dclab.errors import guarded
from dclab.eval.evaluate import evaluate_synthetic
from dclab.methods import get_method


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_condense_eval_args(p)  # --set applies to every method (only the keys its config has)
    p.add_argument("--methods", nargs="+", default=["idc", "dc"])
    p.add_argument("--seconds", type=float, default=300.0, help="condensation budget per method")
    p.add_argument("--eval-width", type=int, default=None, help="width of the evaluation ConvNet")
    args = p.parse_args()

    device = resolve_device(args.device)
    data = load_dataset(args.dataset, root=args.data_root, download=False)
    protocol = protocol_from(args)
    options = {"net_options": {"width": args.eval_width}} if args.eval_width else {}
    print(f"{args.dataset} IPC {args.ipc}, {args.seconds:.0f} s per method; protocol: {protocol.describe()}"
          + (f", eval width {args.eval_width}" if args.eval_width else ""), flush=True)
    for name in args.methods:
        cls = get_method(name)
        fields = {f.name for f in cls.config_class.fields_info()}
        overrides = {k: v for k, v in method_overrides(args).items() if k in fields}
        cfg = cls.config_class.build(args.preset, {**overrides, "iterations": 10**6})
        method = cls(data, args.ipc, cfg, seed=args.seed, device=device)
        start = time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            method.step()
        spent = time.perf_counter() - start
        result = evaluate_synthetic(method.synthetic_set(), data, protocol, device, **options)
        print(f"{name:5s} {method.iteration:5d} it in {spent:6.1f} s -> "
              f"{100 * result.mean:6.2f} ± {100 * result.std:5.2f} %", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
