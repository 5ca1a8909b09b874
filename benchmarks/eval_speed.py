"""Seconds to evaluate K networks on an IPC-sized real subset: the loop vs batched (torch.func).

    OMP_NUM_THREADS=1 python -m benchmarks.eval_speed --dataset digits --models 10 --ipc 10 --epochs 50

Both paths train the same K nets (same inits, batch orders); the script also prints the largest
accuracy difference between them as a sanity check.
"""
from __future__ import annotations

import argparse
import time

import torch

from dclab.data import load_dataset
from dclab.device import describe_device, resolve_device
from dclab.errors import guarded
from dclab.eval.evaluate import evaluate_synthetic
from dclab.eval.protocol import EvalProtocol
from dclab.seeding import make_generator
from dclab.synthetic import SyntheticSet, class_major_labels


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="digits")
    p.add_argument("--data-root", default=None)
    p.add_argument("--models", type=int, default=10, help="K networks")
    p.add_argument("--ipc", type=int, default=10, help="images per class of the evaluated set")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--device", default="auto")
    p.add_argument("--net", default="convnet")
    p.add_argument("--width", type=int, default=None, help="ConvNet width (default: the net's own)")
    p.add_argument("--augment", default="none", choices=("none", "dsa"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = load_dataset(args.dataset, root=args.data_root)
    device = resolve_device(args.device)
    images = data.sample_per_class(args.ipc, make_generator(0)).flatten(0, 1)  # (classes*ipc, C, H, W)
    subset = SyntheticSet(images, class_major_labels(data.num_classes, args.ipc), data.name,
                          data.class_names, data.mean, data.std, "random")
    protocol = EvalProtocol(net=args.net, models=args.models, epochs=args.epochs, augment=args.augment)
    options = {"width": args.width} if args.width else None
    print(f"{data.name}: {images.shape[0]} images, K={args.models}, {args.epochs} epochs, "
          f"{args.net}{'' if options is None else options}, {args.augment} aug, "
          f"{describe_device(device)}, torch threads {torch.get_num_threads()}")
    evaluate_synthetic(subset, data, protocol.replace(models=2, epochs=1), device, batched=True,
                       net_options=options)  # warm-up
    timings = {}
    results = {}
    for name, batched in (("loop", False), ("batched", True)):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        results[name] = evaluate_synthetic(subset, data, protocol, device, batched=batched, net_options=options)
        if device.type == "cuda":
            torch.cuda.synchronize()
        timings[name] = time.perf_counter() - t0
        r = results[name]
        print(f"{name:>11}: {timings[name]:8.2f} s   acc {100 * r.mean:.2f} ± {100 * r.std:.2f} %"
              f"   (batched path used: {r.extra['batched']})")
    diff = max(abs(a - b) for a, b in zip(results["loop"].accs, results["batched"].accs))
    print(f"speed-up loop/batched: {timings['loop'] / timings['batched']:.2f}x   "
          f"max |acc difference| {100 * diff:.2f} pts")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
