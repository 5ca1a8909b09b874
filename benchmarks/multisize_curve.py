"""MDC against baselines A, B and C: subset-accuracy curves acc(S[:n]) for n = 1..IPC.

Condenses, with one set of settings and budget (iterations):
  MDC  one multisize run on its base method (IPC N);
  C    one plain run of the base method (IPC N, same seed);
  B    N plain IPC-1 runs of the base method (seeds seed+1 .. seed+N), concatenated;
  A    plain IPC-n runs for the sizes in --separate (optional; costs one run per size);
then evaluates every curve under one protocol (`dclab.eval.multisize.multisize_curves`).

Example (MNIST IPC 10, MDC on IDC, CPU sizes):

    OMP_NUM_THREADS=1 python -m benchmarks.multisize_curve --dataset mnist --data-root /tmp/dclab_mnist \\
        --ipc 10 --preset cpu --protocol quick --separate 1 5
"""
from __future__ import annotations

import argparse
import time

from benchmarks.run_args import add_condense_eval_args, method_overrides, protocol_from
from dclab.data import load_dataset
from dclab.device import resolve_device
from dclab.errors import guarded
from dclab.eval.multisize import BASELINE_C, MULTISIZE, average_gain, multisize_curves
from dclab.methods import get_method
from dclab.methods._base import CondensationMethod
from dclab.synthetic import SyntheticSet


def condense(method: CondensationMethod) -> tuple[SyntheticSet, float]:
    """Run to the end; the set and the seconds taken."""
    start = time.perf_counter()
    while not method.done:
        method.step()
    return method.synthetic_set(), time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_condense_eval_args(p)  # --set: MDC settings (base=idc|dm|dc|dsa, delta_t, ...)
    p.add_argument("--separate", type=int, nargs="*", default=[], help="baseline A: sizes n to condense separately")
    p.add_argument("--no-b", action="store_true", help="skip baseline B (N IPC-1 runs)")
    p.add_argument("--eval-width", type=int, default=None, help="width of the evaluation ConvNet (default: the protocol's)")
    args = p.parse_args()

    device = resolve_device(args.device)
    data = load_dataset(args.dataset, root=args.data_root, download=False)
    mdc_cls = get_method("mdc")
    cfg = mdc_cls.config_class.build(args.preset, method_overrides(args))
    base_cls = get_method(cfg.base)
    base_cfg = cfg.base_config(base_cls.config_class)
    print(f"{args.dataset} IPC {args.ipc}; MDC config {cfg.to_dict()}", flush=True)

    mdc_set, secs = condense(mdc_cls(data, args.ipc, cfg, seed=args.seed, device=device))
    print(f"MDC on {cfg.base}: condensed in {secs:.1f} s", flush=True)
    c_set, secs = condense(base_cls(data, args.ipc, base_cfg, seed=args.seed, device=device))
    print(f"C ({cfg.base}, IPC {args.ipc}): condensed in {secs:.1f} s", flush=True)
    ipc1 = []
    if not args.no_b:
        start = time.perf_counter()
        ipc1 = [condense(base_cls(data, 1, base_cfg, seed=args.seed + 1 + i, device=device))[0]
                for i in range(args.ipc)]
        print(f"B ({args.ipc} x IPC 1): condensed in {time.perf_counter() - start:.1f} s", flush=True)
    separate = {}
    for n in args.separate:
        separate[n], secs = condense(base_cls(data, n, base_cfg, seed=args.seed, device=device))
        print(f"A (IPC {n}): condensed in {secs:.1f} s", flush=True)

    protocol = protocol_from(args)
    print(f"protocol: {protocol.describe()}", flush=True)
    options = {"net_options": {"width": args.eval_width}} if args.eval_width else {}
    curves = multisize_curves(data, protocol, mdc_set, baseline_c=c_set, ipc1_sets=ipc1, separate=separate,
                              device=device, **options)
    labels = list(curves)
    print(f"{'n':>3s} " + " ".join(f"{label[:26]:>26s}" for label in labels))
    for n in range(1, args.ipc + 1):
        cells = []
        for lb in labels:
            point = next((q for q in curves[lb] if q.n == n), None)
            cells.append(f"{100 * point.result.mean:6.2f} ± {100 * point.result.std:5.2f}" if point else "-")
        print(f"{n:3d} " + " ".join(f"{c:>26s}" for c in cells))
    means = [sum(q.result.mean for q in curves[lb]) / len(curves[lb]) for lb in labels]
    print("avg " + " ".join(f"{100 * m:26.2f}" for m in means))
    gain = average_gain(curves, over=BASELINE_C, of=MULTISIZE)
    if gain is not None:
        print(f"MDC average gain over C: {100 * gain:+.2f} points")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
