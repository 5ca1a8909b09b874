"""MDC against baseline C: subset-accuracy curves acc(S[:n]) for n = 1..IPC.

Condenses one MDC set and one plain run of its base method (same settings, seed and
iterations: baseline C), then evaluates every prefix of both under one protocol.

Example (digits IPC 10, DM base):

    OMP_NUM_THREADS=1 python -m benchmarks.multisize_curve --dataset digits --ipc 10 --set lr_img=10
"""
from __future__ import annotations

import argparse
import time

from benchmarks.run_args import add_condense_eval_args, method_overrides, protocol_from
from dclab.cli.main import guarded
from dclab.data import load_dataset
from dclab.device import resolve_device
from dclab.eval.multisize import subset_accuracy_curve
from dclab.methods import get_method
from dclab.methods.base import CondensationMethod


def condense(method: CondensationMethod) -> float:
    """Run to the end; seconds taken."""
    start = time.perf_counter()
    while not method.done:
        method.step()
    return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_condense_eval_args(p)  # --set: MDC settings (base=dm|dc|dsa, delta_t, ...)
    args = p.parse_args()

    device = resolve_device(args.device)
    data = load_dataset(args.dataset, root=args.data_root, download=False)
    mdc_cls = get_method("mdc")
    cfg = mdc_cls.config_class.build(args.preset, method_overrides(args))
    base_cls = get_method(cfg.base)
    runs = {
        "MDC": mdc_cls(data, args.ipc, cfg, seed=args.seed, device=device),
        f"C ({cfg.base})": base_cls(data, args.ipc, cfg.base_config(base_cls.config_class), seed=args.seed,
                                    device=device),
    }
    protocol = protocol_from(args)
    print(f"{args.dataset} IPC {args.ipc}; MDC config {cfg.to_dict()}")
    print(f"protocol: {protocol.describe()}", flush=True)
    curves = {}
    for label, method in runs.items():
        seconds = condense(method)
        curves[label] = subset_accuracy_curve(method.synthetic_set(), data, protocol, device=device)
        print(f"{label}: condensed in {seconds:.1f} s", flush=True)

    labels = list(curves)
    print(f"{'n':>3s} " + " ".join(f"{label:>16s}" for label in labels))
    for i in range(args.ipc):
        cells = [f"{100 * curves[lb][i].mean:7.2f} ± {100 * curves[lb][i].std:5.2f}" for lb in labels]
        print(f"{i + 1:3d} " + " ".join(f"{c:>16s}" for c in cells))
    means = [sum(r.mean for r in curves[lb]) / args.ipc for lb in labels]
    print("avg " + " ".join(f"{100 * m:16.2f}" for m in means))
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
