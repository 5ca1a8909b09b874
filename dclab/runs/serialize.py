"""SyntheticSet <-> plain dict of tensors/str/numbers (loadable with torch.load(weights_only=True))."""
from __future__ import annotations

from typing import Any

from dclab.synthetic import SyntheticSet


def synthetic_to_dict(s: SyntheticSet) -> dict[str, Any]:
    s = s.detach_cpu()
    return {
        "format": "dclab.synthetic/1",
        "images": s.images,
        "labels": s.labels,
        "dataset": s.dataset,
        "class_names": list(s.class_names),
        "mean": list(s.mean),
        "std": list(s.std),
        "method": s.method,
        "config": s.config,
        "seed": s.seed,
        "soft_labels": s.soft_labels,
        "extras": s.extras,
    }


def synthetic_from_dict(d: dict[str, Any]) -> SyntheticSet:
    return SyntheticSet(
        images=d["images"],
        labels=d["labels"],
        dataset=d["dataset"],
        class_names=tuple(d["class_names"]),
        mean=tuple(d["mean"]),
        std=tuple(d["std"]),
        method=d["method"],
        config=dict(d.get("config") or {}),
        seed=d.get("seed"),
        soft_labels=d.get("soft_labels"),
        extras=dict(d.get("extras") or {}),
    )
