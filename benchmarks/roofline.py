"""Roofline: how close each dclab compute path runs to this machine's measured fp32 peak.

The peak is measured, not looked up: forward+backward of the ConvNet-3/128 convolutions at batch 256
(the shapes DM/DC/DSA/evaluation spend their time in) and a plain 2048^3 matmul; the highest rate
is the peak. FLOPs per step are counted by `torch.utils.flop_counter.FlopCounterMode` (matmuls and
convolutions, forward and backward; elementwise ops are not counted), never by hand.

Peak items and paths are timed interleaved, round by round and at each thread count, so a shared
machine's load hits both alike; the table reports medians and each path's rate as a fraction of
the peak measured at the same thread count. On a shared machine absolute GFLOP/s are low and
noisy; the fractions are the number to read.

The process keeps freed memory for the next step (`dclab/allocator.py`), as the CLI and the app do;
`DCLAB_RETAIN_MEMORY=0` measures glibc's default instead (each large activation a fresh mmap).

Example (Fashion-MNIST in torchvision layout under /tmp/fm_root; 1 = the old policy on 2 cores):
    python -m benchmarks.roofline --data-root /tmp/fm_root --threads 1,2 --rounds 3
Shorter (the 2-core shared machine of the report):
    python -m benchmarks.roofline --data-root /tmp/fm_root --threads 1,2 --rounds 1 --paths dm:paper,dm:cpu,dc:cpu,dsa:cpu
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from dclab.allocator import memory_policy
from dclab.config import parse_assignments
from dclab.data import load_dataset
from dclab.errors import guarded
from dclab.eval.evaluate import build_eval_net, model_generator
from dclab.eval.protocol import EvalProtocol
from dclab.eval.train import test_accuracy, train_classifier
from dclab.methods import get_method
from dclab.seeding import make_generator


@dataclass
class Item:
    name: str
    setting: str
    fn: Callable[[], object]
    peak: bool = False  # part of the peak measurement
    flops: int = 0


def count_flops(fn: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def conv_item(cin: int, cout: int, size: int, pad: int, batch: int) -> Item:
    """Forward + backward of one 3x3 convolution (input and weight gradients)."""
    g = make_generator(0)
    x = torch.randn(batch, cin, size, size, generator=g, requires_grad=cin > 1)
    w = torch.randn(cout, cin, 3, 3, generator=g, requires_grad=True)

    def fn() -> None:
        F.conv2d(x, w, padding=pad).sum().backward()
    return Item("conv", f"{cin}->{cout} @{size}px b{batch}", fn, peak=True)


def matmul_item(n: int) -> Item:
    g = make_generator(1)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    return Item("matmul", f"{n}^3", lambda: a @ b, peak=True)


def method_item(name: str, data, ipc: int, preset: str, settings: dict[str, str]) -> Item:
    """One iteration (`step()`) of a condensation method at a preset (+ settings it has)."""
    cls = get_method(name)
    fields = {f.name for f in cls.config_class.fields_info()}
    overrides = {k: v for k, v in settings.items() if k in fields}
    method = cls(data, ipc, cls.config_class.build(preset, overrides), seed=0, device=torch.device("cpu"))
    label = preset + "".join(f" {k}={v}" for k, v in overrides.items())
    return Item(name, label, method.step)


def eval_items(data, ipc: int) -> list[Item]:
    """One evaluation-protocol epoch on ipc x classes images, and the test-set pass."""
    protocol = EvalProtocol()
    gen = model_generator(0, 0)
    net = build_eval_net(data, protocol, seed=0)
    per_class = [torch.nonzero(data.y_train == c).flatten()[:ipc] for c in range(data.num_classes)]
    idx = torch.cat(per_class)
    x, y = data.x_train[idx], data.y_train[idx]

    def epoch() -> None:
        train_classifier(net, x, y, epochs=1, generator=gen)
    return [Item("eval epoch", f"{len(idx)} images, b256", epoch),
            Item("test pass", f"{data.x_test.shape[0]} images", lambda: test_accuracy(net, data.x_test, data.y_test))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--data-root", default=None)
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--paths", default="dm:paper,dm:cpu,dc:paper,dc:cpu,dsa:paper,dsa:cpu",
                   help="comma-separated METHOD:PRESET condensation steps to time")
    p.add_argument("--gm-set", action="extend", nargs="+", default=["outer_loop=1"], metavar="KEY=VALUE",
                   help="settings for the gradient-matching methods (DC/DSA) to keep one step short "
                        "(default outer_loop=1: one image update and its inner loop; rates are per FLOP)")
    p.add_argument("--threads", default=str(torch.get_num_threads()), help="comma-separated thread counts")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    gm_settings = parse_assignments(args.gm_set, "--gm-set")

    data = load_dataset(args.dataset, root=args.data_root)
    size = data.image_size if isinstance(data.image_size, int) else data.image_size[0]
    pad = 3 if size == 28 else 1
    s1 = size + 2 * pad - 2
    items = [conv_item(data.channels, 128, size, pad, 256), conv_item(128, 128, s1 // 2, 1, 256),
             conv_item(128, 128, s1 // 4, 1, 256), matmul_item(2048)]
    for path in args.paths.split(","):
        name, _, preset = path.partition(":")
        settings = gm_settings if name in ("dc", "dsa") else {}
        items.append(method_item(name, data, args.ipc, preset or "paper", settings))
    items += eval_items(data, args.ipc)
    for it in items:
        it.flops = count_flops(it.fn)  # also the warm-up (allocations, lazy init)
        print(f"counted {it.name} {it.setting}: {it.flops / 1e9:.2f} GFLOP", flush=True)

    times: dict[tuple[str, str, int], list[float]] = {}
    started = time.time()
    for r in range(args.rounds):
        for t in threads:
            torch.set_num_threads(t)
            for it in items:
                t0 = time.perf_counter()
                it.fn()
                times.setdefault((it.name, it.setting, t), []).append(time.perf_counter() - t0)
        print(f"round {r + 1}/{args.rounds} done ({time.time() - started:.0f} s)", flush=True)

    print(f"\n{args.dataset}, IPC {args.ipc}, CPU fp32; {args.rounds} interleaved rounds; load average "
          f"before/after: see `uptime`. Peak = best conv/matmul rate at the same thread count. "
          f"Freed memory: {memory_policy()}.")
    print(f"{'path':11s} {'setting':34s} {'thr':>3s} {'GFLOP/step':>10s} {'s/step':>8s} {'GFLOP/s':>8s} {'% peak':>7s}")
    for t in threads:
        rate = {id(it): it.flops / statistics.median(times[(it.name, it.setting, t)]) / 1e9 for it in items}
        peak = max(rate[id(it)] for it in items if it.peak)
        for it in items:
            s = statistics.median(times[(it.name, it.setting, t)])
            print(f"{it.name:11s} {it.setting[:34]:34s} {t:3d} {it.flops / 1e9:10.2f} {s:8.3f} "
                  f"{rate[id(it)]:8.1f} {100 * rate[id(it)] / peak:6.0f}%", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
