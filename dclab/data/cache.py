"""On-disk cache of decoded, normalised data sets, so a new process loads e.g. MNIST in ~0.1 s.

The cache file holds the float32 tensors of a `DatasetBundle` and is read back memory-mapped
(`torch.load(mmap=True)`): nothing is decoded or converted, pages are read when first touched.
Each file stores a signature of its source files (path, size, mtime) and of the normalisation;
a changed source makes the entry stale and it is rebuilt. A data root that cannot be written
just means no cache. `normalised_bundle` turns decoded uint8 splits into the float bundle.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from dclab.data.bundle import DatasetBundle
from dclab.files import save_torch

CACHE_DIR_NAME = ".dclab_cache"
CACHE_FORMAT = 2  # bump when the stored layout (or a loader's constants) changes


@dataclass(frozen=True)
class DecodedSplits:
    """Raw pixels of a data set as decoded from its files. x_*: (N, C, H, W) uint8; y_*: (N,) int64."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    class_names: tuple[str, ...]


def cache_path(root: Path, key: str) -> Path:
    """`<root>/.dclab_cache/<key>.pt`; keys with path characters are hashed to a safe file name."""
    safe = key if key.replace("_", "").replace("-", "").isalnum() else (
        "k-" + hashlib.sha1(key.encode()).hexdigest()[:16]
    )
    return root / CACHE_DIR_NAME / f"{safe}.pt"


def source_signature(files: Iterable[Path], extra: str = "") -> str:
    """Identifies the exact inputs: resolved path, size and mtime of each file, plus `extra`."""
    parts = [extra]
    for f in sorted(Path(p) for p in files):
        st = f.stat()
        parts.append(f"{f.resolve()}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()


_TENSORS = ("x_train", "y_train", "x_test", "y_test")


def load_cached(path: Path, signature: str | None) -> DatasetBundle | None:
    """The cached bundle at `path` if present, readable and built from the same inputs.

    signature None accepts any entry (used when the source files are gone but the cache is not).
    """
    if not path.is_file():
        return None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # truncated or foreign file: rebuild it
        return None
    if not isinstance(blob, dict) or blob.get("format") != CACHE_FORMAT or (
        signature is not None and blob.get("signature") != signature
    ):
        return None
    return DatasetBundle(
        name=blob["name"],
        **{k: blob[k] for k in _TENSORS},
        class_names=tuple(blob["class_names"]),
        mean=tuple(blob["mean"]),
        std=tuple(blob["std"]),
        source=blob["source"],
    )


def store_cached(path: Path, signature: str, bundle: DatasetBundle) -> bool:
    """Write atomically (temp file + rename); returns False when the folder is not writable."""
    blob = {
        "format": CACHE_FORMAT,
        "signature": signature,
        **{k: getattr(bundle, k).contiguous() for k in _TENSORS},
        "name": bundle.name,
        "class_names": list(bundle.class_names),
        "mean": list(bundle.mean),
        "std": list(bundle.std),
        "source": bundle.source,
    }
    try:
        save_torch(path, blob)  # atomic, readable like a plain file (a shared data root stays readable)
        return True
    except OSError:
        return False


def cached_bundle(
    root: Path, key: str, sources: Iterable[Path], build: Callable[[], DatasetBundle], extra: str = ""
) -> DatasetBundle:
    """The bundle for `key`, from the disk cache when its signature matches (sources, extra)."""
    path = cache_path(root, key)
    signature = source_signature(sources, extra)
    hit = load_cached(path, signature)
    if hit is not None:
        return hit
    bundle = build()
    store_cached(path, signature, bundle)
    return bundle


def normalised_bundle(
    name: str,
    splits: DecodedSplits,
    mean: tuple[float, ...] | None,
    std: tuple[float, ...] | None,
    source: str,
) -> DatasetBundle:
    """uint8 splits -> a `DatasetBundle` normalised with (mean, std); None = per-channel train stats."""
    if mean is None or std is None:
        x01 = splits.x_train * torch.tensor(1.0 / 255.0)  # (N, C, H, W) float32 in [0, 1]
        mean = tuple(float(m) for m in x01.mean(dim=(0, 2, 3), dtype=torch.float64))
        std = tuple(float(s) for s in x01.std(dim=(0, 2, 3)).clamp_min(1e-6))
    # (x/255 - mean)/std == x*a + b: one conversion to float32, then in-place multiply and add
    a = (1.0 / (255.0 * torch.tensor(std, dtype=torch.float64))).float().view(1, -1, 1, 1)
    b = (-torch.tensor(mean, dtype=torch.float64) / torch.tensor(std, dtype=torch.float64)).float().view(1, -1, 1, 1)
    return DatasetBundle(
        name=name,
        x_train=splits.x_train.float().mul_(a).add_(b),
        y_train=splits.y_train.long(),
        x_test=splits.x_test.float().mul_(a).add_(b),
        y_test=splits.y_test.long(),
        class_names=splits.class_names,
        mean=tuple(mean),
        std=tuple(std),
        source=source,
    )
