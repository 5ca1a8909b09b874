"""Iterations/s of each method's batched path (all classes in one call) vs its per-class loop.

The methods follow the device rule by default (`batched=None`, `dclab.device.prefers_batched`):
the per-class loop on CPU, the batched path on an accelerator; this benchmark is its evidence.
Measured on a 2-core CPU (digits, DC): the vmapped per-class gradients ran 2.3-2.6x slower than
the loop; DM's per-class loop ran 1.05-1.6x faster than the chunked batched forwards.

Example (CPU, shared machine: pin threads):
    OMP_NUM_THREADS=1 python -m benchmarks.condense_speed --dataset digits --ipc 10 --methods dc,dsa,dm --iterations 3
"""
from __future__ import annotations

import argparse
import time

import torch

from dclab.config import parse_assignments
from dclab.data import load_dataset
from dclab.device import describe_device, resolve_device
from dclab.errors import guarded
from dclab.methods import get_method


def iterations_per_second(name: str, data, ipc: int, device: torch.device, iterations: int, batched: bool,
                          width: int | None, warmup: int, settings: dict[str, str] | None = None) -> float:
    """Build the method (cpu preset on CPU, paper otherwise) and time `iterations` steps after warm-up."""
    cls = get_method(name)
    preset = "cpu" if device.type == "cpu" else "paper"
    overrides: dict = {"batched": batched, "iterations": warmup + iterations}
    if width is not None:
        overrides["width"] = width
    fields = {f.name for f in cls.config_class.fields_info()}
    overrides.update({k: v for k, v in (settings or {}).items() if k in fields})  # e.g. outer_loop=1
    method = cls(data, ipc, cls.config_class.build(preset, overrides), seed=0, device=device)
    for _ in range(warmup):
        method.step()
    start = time.perf_counter()
    for _ in range(iterations):
        method.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return iterations / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data-root", default=None, help="folder with offline data copies")
    parser.add_argument("--ipc", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--methods", default="dc,dsa,dm", help="comma-separated methods with a `batched` setting")
    parser.add_argument("--iterations", type=int, default=3, help="timed iterations per path")
    parser.add_argument("--warmup", type=int, default=1, help="untimed iterations first")
    parser.add_argument("--width", type=int, default=None, help="ConvNet width (default: the preset's)")
    parser.add_argument("--set", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
                        help="extra config settings for methods that have them (e.g. outer_loop=1 inner_loop=1)")
    args = parser.parse_args(argv)
    settings = parse_assignments(args.set)

    device = resolve_device(args.device)
    data = load_dataset(args.dataset, root=args.data_root)
    print(f"{args.dataset} ipc={args.ipc} on {describe_device(device)}; torch threads={torch.get_num_threads()}")
    print(f"{'method':8s} {'batched it/s':>13s} {'loop it/s':>10s} {'speed-up':>9s}")
    for name in args.methods.split(","):
        batched = iterations_per_second(name, data, args.ipc, device, args.iterations, True, args.width, args.warmup, settings)
        loop = iterations_per_second(name, data, args.ipc, device, args.iterations, False, args.width, args.warmup, settings)
        print(f"{name:8s} {batched:13.3f} {loop:10.3f} {batched / loop:8.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
