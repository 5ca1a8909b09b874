"""Seconds per condensation iteration with 1 process vs N torchrun ranks, and bytes sent per iteration.

Each configuration is a real launch of the CLI (`python -m dclab condense`, or under
`python -m torch.distributed.run --standalone --nproc-per-node N`) into a scratch runs folder; the
numbers come from the run's metrics.jsonl: `seconds` of every step but the first (warm-up), and
under torchrun `comm_bytes` / `comm_calls`, counted by dclab's collective helper
(`dclab/distributed/collectives.py`), beside the volume computed from the tensor sizes (the image
gradient, the per-class losses, the stop agreement). Configurations run interleaved, round by
round, so the load of a shared machine hits them alike; `uptime` is printed with each round.

torchrun gives each rank OMP_NUM_THREADS=1; a single process runs at `--threads 1` and at all cores.

Example (Fashion-MNIST in torchvision layout under /tmp/fm_root, DM at the paper settings):
    python -m benchmarks.torchrun_speed --data-root /tmp/fm_root --method dm --ipc 10 --preset paper \\
        --iterations 6 --ranks 2 --rounds 2
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from dclab.errors import guarded
from dclab.data import load_dataset

REPO = Path(__file__).resolve().parents[1]


def launch(args: argparse.Namespace, ranks: int, threads: int | None, out: Path) -> list[dict]:
    """One run of the CLI; returns its per-step metrics records."""
    cli = ["-m", "dclab", "condense", "--dataset", args.dataset, "--method", args.method, "--ipc", str(args.ipc),
           "--preset", args.preset, "--iterations", str(args.iterations), "--device", "cpu", "--out", str(out)]
    if args.data_root:
        cli += ["--data-root", args.data_root]
    if threads is not None:
        cli += ["--threads", str(threads)]
    for assignment in args.set:
        cli += ["--set", assignment]
    if ranks > 1:
        cli = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={ranks}", *cli]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))}
    subprocess.run([sys.executable, *cli], cwd=REPO, env=env, check=True, capture_output=True, text=True)
    (run,) = [p for p in out.iterdir() if (p / "metrics.jsonl").is_file()]
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"kind"' not in line]


def expected_bytes(args: argparse.Namespace) -> int | None:
    """Per iteration of a class-splitting method under torchrun: image gradient + per-class losses
    (float32) + the stop flag (int32); None for the batch-splitting ones (their volume depends on
    the network: see README "More than one GPU")."""
    from dclab.config import parse_assignments
    from dclab.methods import get_method

    method = get_method(args.method)
    if method.rank_split(method.config_class.build(args.preset, parse_assignments(args.set))) != "classes":
        return None
    data = load_dataset(args.dataset, root=args.data_root, download=False)
    c, h, w = data.shape
    return data.num_classes * args.ipc * c * h * w * 4 + data.num_classes * 4 + 4


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--data-root", default=None)
    p.add_argument("--method", default="dm")
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--preset", default="paper")
    p.add_argument("--iterations", type=int, default=6)
    p.add_argument("--ranks", type=int, default=2, help="N of the torchrun configuration")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--set", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
                   help="method settings over the preset")
    args = p.parse_args()

    configs = {"1 process, 1 thread": (1, 1), "1 process, all cores": (1, None),
               f"torchrun {args.ranks} ranks x 1 thread": (args.ranks, 1)}
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    comm: set[tuple[int, int]] = set()
    with tempfile.TemporaryDirectory() as scratch:
        for r in range(args.rounds):
            print(f"round {r + 1}: load {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min)", flush=True)
            for name, (ranks, threads) in configs.items():
                out = Path(scratch) / f"{r}-{ranks}-{threads}"
                steps = launch(args, ranks, threads, out)
                seconds[name] += [s["seconds"] for s in steps[1:]]
                comm |= {(s["comm_bytes"], s["comm_calls"]) for s in steps[1:] if "comm_bytes" in s}
                print(f"  {name:32s} {statistics.median(s['seconds'] for s in steps[1:]):7.3f} s/it", flush=True)
    print(f"\n{args.method} {args.dataset} IPC {args.ipc}, preset {args.preset}, {args.iterations} iterations "
          f"per launch (first step dropped), {args.rounds} rounds; {os.cpu_count()} CPUs, load now "
          f"{os.getloadavg()[0]:.2f}")
    for name, values in seconds.items():
        print(f"  {name:32s} median {statistics.median(values):7.3f} s/it  (min {min(values):.3f}, "
              f"max {max(values):.3f}, n={len(values)})")
    expected = expected_bytes(args)
    print(f"  bytes per iteration, counted: {sorted(comm)} (bytes, collectives)"
          + (f"; from tensor sizes: {expected}" if expected is not None else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
