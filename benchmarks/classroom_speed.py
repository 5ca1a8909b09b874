"""Seconds per iteration (wall and CPU) of DC, DSA and DM at a preset, one thread, on one data set.

CPU seconds are printed beside wall seconds with the load average: on a shared machine the wall
time moves with the load, the CPU time much less. It only uses APIs that older trees have too, so
a before/after pair can be measured with the same script (`--settings` states a preset's values on
a tree that lacks the preset; `net_width` is read as `width`):

    python -m benchmarks.classroom_speed --preset classroom --methods dc dsa dm
    cd <old checkout> && PYTHONPATH=. python <this checkout>/benchmarks/classroom_speed.py --preset cpu \
        --settings '{"iterations": 50, "outer_loop": 5, "inner_loop": 5, "batch_real": 32, "net_width": 32}'
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch

from dclab.data import load_dataset
from dclab.methods import get_method


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--data-root", default=None)
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--methods", nargs="+", default=["dc", "dsa", "dm"])
    p.add_argument("--preset", default="classroom")
    p.add_argument("--settings", default="{}", help="JSON of extra settings (only those a method has)")
    p.add_argument("--iterations", type=int, default=3, help="timed iterations (DM: x10)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (a job of the pair gets 1 of 2 cores)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset(args.dataset, root=args.data_root)
    settings = json.loads(args.settings)
    for name in args.methods:
        cls = get_method(name)
        fields = {f.name for f in cls.config_class.fields_info()} | {"net_width"}
        over = {k: v for k, v in settings.items() if k in fields}
        method = cls(data, args.ipc, cls.config_class.build(args.preset, over), seed=0, device="cpu")
        method.step()  # warm-up
        its = args.iterations * (10 if name == "dm" else 1)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(its):
            method.step()
        wall, cpu = (time.perf_counter() - wall) / its, (time.process_time() - cpu) / its
        print(f"{name:4s} preset {args.preset}{' + ' + json.dumps(over) if over else ''}: {wall:.3f} s/it wall, {cpu:.3f} s/it CPU "
              f"({its} its, {args.threads} thread, load {os.getloadavg()[0]:.1f})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
