"""The payoff chart: a condensed set against real images of the same size and the whole training set.

Bars under ONE protocol (same networks, seeds, optimiser, schedule, augmentation):
  1. the synthetic set (N images per class; one bar per set when a pair is compared),
  2. random real images, N per class,
  3. a coreset of N per class (herding by default),
  4. the whole training set, class-balanced (the smallest class's count per class, so every class
     weighs the same, as in the sets above), trained for at most `whole_steps` SGD steps: the
     protocol's epochs over 60k images would be hours on a CPU. Its protocol line states the epochs
     actually trained. This bar is cached on disk as JSON, once per data set and protocol.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from dclab.coresets import select_coreset
from dclab.data.bundle import DatasetBundle
from dclab.eval.evaluate import evaluate_synthetic
from dclab.eval.protocol import EvalProtocol
from dclab.eval.result import EvalResult
from dclab.files import safe_name, write_json
from dclab.progress import Progress, report_to
from dclab.synthetic import SyntheticSet, class_major_labels

WHOLE_STEPS = 1500  # SGD steps of each whole-set network at most (digits: the protocol's epochs)


@dataclass(frozen=True)
class PayoffBar:
    name: str  # "synthetic (dm)", "random real", "coreset (herding)", "whole training set"
    images_per_class: int | None  # None: the whole (balanced) training set
    result: EvalResult

    @property
    def label(self) -> str:
        """Bar label with its size, e.g. 'random real (10/class)'."""
        size = "all" if self.images_per_class is None else str(self.images_per_class)
        return f"{self.name} ({size}/class)"


@dataclass(frozen=True)
class PayoffResult:
    bars: tuple[PayoffBar, ...]  # synthetic set(s), random real, coreset, whole training set
    protocol: str  # the one protocol line shared by the bars (the whole set's epochs said in its bar)

    def describe(self) -> str:
        lines = [f"protocol: {self.protocol}"]
        lines += [f"  {b.label:34s} {100 * b.result.mean:6.2f} ± {100 * b.result.std:5.2f} %" for b in self.bars]
        whole = self.bars[-1].result.protocol
        lines.append(f"  (whole training set: {whole.epochs} epochs of its {whole.models} networks)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol,
                "bars": [{"name": b.name, "images_per_class": b.images_per_class, "label": b.label,
                          **b.result.to_dict()} for b in self.bars]}


def default_cache_dir() -> Path:
    """$DCLAB_CACHE/payoff, else ~/.cache/dclab/payoff."""
    base = os.environ.get("DCLAB_CACHE") or Path.home() / ".cache" / "dclab"
    return Path(base) / "payoff"


def whole_epochs(protocol: EvalProtocol, per_class: int, num_classes: int, whole_steps: int) -> int:
    """The protocol's epochs, capped so that one network trains at most `whole_steps` steps."""
    batches = math.ceil(per_class * num_classes / protocol.batch_size)
    return max(1, min(protocol.epochs, whole_steps // batches))


def balanced_training_set(data: DatasetBundle) -> SyntheticSet:
    """The first `min_class_count` training images of every class, class-major (a SyntheticSet)."""
    n = data.min_class_count()
    idx = torch.cat([torch.nonzero(data.y_train.cpu() == c).flatten()[:n] for c in range(data.num_classes)])
    return SyntheticSet(images=data.x_train.cpu()[idx], labels=class_major_labels(data.num_classes, n),
                        dataset=data.name, class_names=data.class_names, mean=data.mean, std=data.std,
                        method="whole training set", config={"per_class": n})


def whole_set_result(data: DatasetBundle, protocol: EvalProtocol, device: str | torch.device, *,
                     whole_steps: int = WHOLE_STEPS, cache_dir: Path | None = None) -> EvalResult:
    """The balanced whole training set under `protocol` (epochs capped), cached as JSON."""
    n = data.min_class_count()
    proto = replace(protocol, epochs=whole_epochs(protocol, n, data.num_classes, whole_steps))
    key = json.dumps({"dataset": data.name, "train": int(data.x_train.shape[0]), "per_class": n,
                      "protocol": proto.to_dict()}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = Path(cache_dir or default_cache_dir()) / f"{safe_name(data.name)}_{digest}.json"
    if path.is_file():
        try:
            return EvalResult.from_dict(json.loads(path.read_text())["result"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a broken cache file is recomputed and overwritten
    result = evaluate_synthetic(balanced_training_set(data), data, proto, device=device)
    write_json(path, {"key": json.loads(key), "result": result.to_dict()})
    return result


def payoff(syn: SyntheticSet | Sequence[SyntheticSet], data: DatasetBundle, protocol: EvalProtocol,
           device: str | torch.device = "auto", *, coreset: str = "herding", seed: int = 0,
           cache_dir: Path | None = None, progress: Progress | None = None,
           whole_steps: int = WHOLE_STEPS) -> PayoffResult:
    """The bars of `syn` under `protocol`: one per synthetic set (a pair gives two), then random
    real, the coreset and the whole set. Several sets must have the same images per class."""
    sets = [syn] if isinstance(syn, SyntheticSet) else list(syn)
    if not sets:
        raise ValueError("give at least one synthetic set")
    ipc = sets[0].ipc
    if any(s.ipc != ipc for s in sets):
        raise ValueError(f"the sets differ in images per class ({sorted({s.ipc for s in sets})}); "
                         f"the payoff compares sets of one size")
    report = report_to(progress)
    steps = [(f"synthetic ({s.method})", lambda s=s: s) for s in sets]
    steps += [("random real", lambda: select_coreset("random", data, ipc, seed=seed, device=device)),
              (f"coreset ({coreset})", lambda: select_coreset(coreset, data, ipc, seed=seed, device=device))]
    total = len(steps) + 1
    bars = []
    for i, (name, make) in enumerate(steps):
        report(i, total)
        bars.append(PayoffBar(name, ipc, evaluate_synthetic(make(), data, protocol, device=device)))
    report(len(steps), total)  # the whole training set next (cached after the first time)
    whole = whole_set_result(data, protocol, device, whole_steps=whole_steps, cache_dir=cache_dir)
    bars.append(PayoffBar("whole training set", None, whole))
    report(total, total)
    return PayoffResult(bars=tuple(bars), protocol=bars[0].result.protocol_text)
