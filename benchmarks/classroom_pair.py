"""The classroom pair: DC and DM at the `classroom` preset run at the same time in one process (two
jobs in worker threads of a JobManager, as the app runs them; dclab/threads.py shares the cores),
then each result against random real images of the same size under one protocol.

Prints the machine load (uptime) with every timing: on a shared CPU the wall times move with it.

Example:
    python -m benchmarks.classroom_pair --dataset digits --ipc 10
    python -m benchmarks.classroom_pair --dataset fashion_mnist --data-root <root> --ipc 10 --methods dc dm
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

import torch

from dclab.allocator import retain_freed_memory
from dclab.errors import guarded
from dclab.coresets import select_coreset
from dclab.data import load_dataset
from dclab.eval.evaluate import evaluate_synthetic
from dclab.eval.protocol import EvalProtocol
from dclab.jobs import JobManager, RunSpec
from dclab.runs import RunDir


def load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def cpu_seconds() -> float:
    """CPU time this process used so far (all threads): on a loaded machine the wall time is not
    what the pair costs; CPU seconds / cores is the wall time it would take on an idle machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--data-root", default=None)
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--methods", nargs="+", default=["dc", "dm"])
    p.add_argument("--preset", default="classroom")
    p.add_argument("--protocol", default="fast", help="evaluation preset for the accuracies")
    p.add_argument("--models", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-eval", action="store_true", help="only the wall times")
    args = p.parse_args()
    retain_freed_memory()

    data = load_dataset(args.dataset, root=args.data_root, download=False)
    print(f"{args.dataset} IPC {args.ipc}, preset {args.preset}, torch threads {torch.get_num_threads()}; "
          f"{load()}", flush=True)
    with tempfile.TemporaryDirectory() as root:
        manager = JobManager(root, max_running_per_device=len(args.methods))
        start, cpu_start = time.perf_counter(), cpu_seconds()
        jobs = [manager.submit(RunSpec(dataset=args.dataset, method=m, ipc=args.ipc, seed=args.seed,
                                       device="cpu", preset=args.preset, data_root=args.data_root))
                for m in args.methods]
        ended: dict[str, float] = {}
        while len(ended) < len(jobs):
            for job in jobs:
                if job.ended and job.id not in ended:
                    ended[job.id] = time.perf_counter() - start
                    snap = job.snapshot()
                    print(f"  {job.spec.method}: {snap.status} after {ended[job.id]:.1f} s wall "
                          f"({snap.iteration} iterations, {ended[job.id] / max(snap.iteration, 1):.3f} s/it); "
                          f"{load()}", flush=True)
            time.sleep(0.2)
        cpu = cpu_seconds() - cpu_start
        print(f"pair wall time: {max(ended.values()):.1f} s, CPU time {cpu:.1f} s "
              f"(= {cpu / os.cpu_count():.1f} s on {os.cpu_count()} idle cores); {load()}", flush=True)
        if args.no_eval:
            return 0
        protocol = EvalProtocol.build(args.protocol, {"models": args.models})
        base = select_coreset("random", data, args.ipc, seed=args.seed, device="cpu")
        res = evaluate_synthetic(base, data, protocol, device="cpu")
        print(f"  random real   {100 * res.mean:6.2f} ± {100 * res.std:4.2f} %", flush=True)
        for job in jobs:
            syn = RunDir.open(job.run_dir.path).load_final()
            res = evaluate_synthetic(syn, data, protocol, device="cpu")
            print(f"  {job.spec.method:13s} {100 * res.mean:6.2f} ± {100 * res.std:4.2f} %", flush=True)
        print(f"protocol: {res.protocol_text}; {load()}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
