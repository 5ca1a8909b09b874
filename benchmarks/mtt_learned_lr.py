"""MTT: condense, then evaluate with the fixed lr 0.01 and with the learned step size α.

Prints the learned α and both accuracies under one protocol otherwise (augment per --protocol,
or --dsa). Uses only the method's public API, so it also runs against an older checkout for a
before/after comparison at the same budget.

    OMP_NUM_THREADS=1 python -m benchmarks.mtt_learned_lr --dataset mnist --data-root /tmp/dclab_mnist \\
        --ipc 10 --preset cpu --protocol quick --epochs 300 --dsa
"""
from __future__ import annotations

import argparse
import tempfile
import time

from benchmarks.run_args import add_condense_eval_args, method_overrides, protocol_from
from dclab.data import load_dataset
from dclab.device import resolve_device
from dclab.errors import guarded
from dclab.eval.evaluate import evaluate_synthetic
from dclab.eval.protocol import EvalProtocol
from dclab.methods import get_method


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_condense_eval_args(p)
    p.add_argument("--dsa", action="store_true", help="evaluate with DSA augmentation")
    p.add_argument("--experts-dir", default=None, help="expert cache (default: a fresh temporary folder)")
    p.add_argument("--eval-width", type=int, default=None, help="width of the evaluation ConvNet")
    args = p.parse_args()

    device = resolve_device(args.device)
    data = load_dataset(args.dataset, root=args.data_root, download=False)
    experts = args.experts_dir or tempfile.mkdtemp(prefix="mtt_experts_")
    cls = get_method("mtt")
    cfg = cls.config_class.build(args.preset, {**method_overrides(args), "experts_dir": experts})
    start = time.perf_counter()
    method = cls(data, args.ipc, cfg, seed=args.seed, device=device)
    experts_s = time.perf_counter() - start
    while not method.done:
        method.step()
    syn = method.synthetic_set()
    lr = float(syn.extras["syn_lr"])
    print(f"{args.dataset} IPC {args.ipc}; config {cfg.to_dict()}")
    print(f"experts {experts_s:.1f} s, condensation {time.perf_counter() - start - experts_s:.1f} s; "
          f"learned lr {lr:.5f}", flush=True)
    options = {"net_options": {"width": args.eval_width}} if args.eval_width else {}
    extra = {"augment": "dsa"} if args.dsa else {}
    for label, value in (("fixed lr 0.01", 0.01), (f"learned lr {lr:.5f}", lr)):
        base = protocol_from(args)
        protocol = EvalProtocol.build(args.protocol, {"models": base.models, "epochs": base.epochs, **extra,
                                                      "lr": value})
        r = evaluate_synthetic(syn, data, protocol, device, **options)
        print(f"{label:22s} {100 * r.mean:6.2f} ± {100 * r.std:5.2f} %   ({protocol.describe()})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
