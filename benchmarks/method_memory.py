"""Speed, peak memory and accuracy of DD / KIP / MTT against random real images, same evaluation.

Each method runs in its own subprocess, so the peak resident memory (ru_maxrss) is its own;
on CUDA the peak allocated GPU memory is reported too. Example (MNIST IPC 10, torchvision
layout root with MNIST/raw/*.gz):

    OMP_NUM_THREADS=1 python -m benchmarks.method_memory --dataset mnist --data-root /tmp/dclab_mnist \
        --ipc 10 --iterations dd=100 kip=200 mtt=100 --models 2 --epochs 100
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import torch

from dclab.config import parse_assignments


def run_one(args: argparse.Namespace, method: str, iterations: int) -> dict[str, Any]:
    from dclab.data import load_dataset
    from dclab.eval.evaluate import evaluate_synthetic
    from dclab.eval.protocol import EvalProtocol
    from dclab.methods import get_method

    data = load_dataset(args.dataset, root=args.data_root, download=False)
    protocol = EvalProtocol.build(None, {"models": args.models, "epochs": args.epochs})
    out: dict[str, Any] = {"method": method, "iterations": iterations}
    start = time.perf_counter()
    if method == "random":
        from dclab.coresets import select_coreset

        syn = select_coreset("random", data, args.ipc, seed=args.seed, device=args.device)
    else:
        cls = get_method(method)
        overrides = parse_assignments(args.set.get(method, []))
        cfg = cls.config_class.build("cpu" if args.preset == "cpu" else args.preset, {**overrides, "iterations": iterations})
        m = cls(data, args.ipc, cfg, seed=args.seed, device=args.device)
        out["setup_s"] = time.perf_counter() - start
        losses = []
        t0 = time.perf_counter()
        while not m.done:
            losses.append(m.step().loss)
        out["its_per_s"] = iterations / (time.perf_counter() - t0)
        out["loss_first10"] = sum(losses[:10]) / min(10, len(losses))
        out["loss_last10"] = sum(losses[-10:]) / min(10, len(losses))
        out["config"] = cfg.to_dict()
        syn = m.synthetic_set()
        if method == "kip":
            from dclab.methods.kip import krr_accuracy

            out["krr_acc"] = krr_accuracy(syn, data, device=args.device)
        if method == "dd":
            from dclab.methods.dd import replay_accuracy

            out["replay_acc"] = replay_accuracy(syn, data, models=args.models, device=args.device).mean
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if torch.cuda.is_available():
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    net_options = {"width": args.eval_width} if args.eval_width else None
    res = evaluate_synthetic(syn, data, protocol, device=args.device, net_options=net_options)
    out["eval_mean"], out["eval_std"], out["protocol"] = res.mean, res.std, protocol.describe()
    out["eval_width"] = args.eval_width or "default"
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--data-root", default=None)
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--preset", default="cpu")
    p.add_argument("--methods", nargs="+", default=["random", "dd", "kip", "mtt"])
    p.add_argument("--iterations", nargs="+", default=["dd=100", "kip=200", "mtt=100"], help="method=N")
    p.add_argument("--set", action="extend", nargs="+", default=[], help="method:key=value config overrides")
    p.add_argument("--models", type=int, default=2)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--eval-width", type=int, default=0, help="ConvNet width of the evaluation nets (0 = protocol default)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    iters = {k: int(v) for k, v in parse_assignments(args.iterations, "--iterations").items()}
    sets: dict[str, list[str]] = {}
    for s in args.set:
        meth, kv = s.split(":", 1)
        sets.setdefault(meth, []).append(kv)
    if args.child:
        args.set = sets
        print(json.dumps(run_one(args, args.child, iters.get(args.child, 0))))
        return 0
    for method in args.methods:
        cmd = [sys.executable, "-m", "benchmarks.method_memory", *sys.argv[1:], "--child", method]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{method}: failed\n{proc.stderr[-2000:]}", flush=True)
            continue
        print(proc.stdout.strip().splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
