"""scikit-learn's bundled 8x8 digits: the embedded default that needs no file and no network.

The decoded split is kept in the disk cache: importing scikit-learn alone takes ~1.7 s, which a
fresh app process would otherwise pay before its first run shows an image.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from dclab.data.bundle import DatasetBundle, normalise
from dclab.data.cache import cached_bundle
from dclab.data.registry import DATASETS

DIGITS_TEST_FRACTION = 0.25
DIGITS_SPLIT_SEED = 0


def bundled_digits_file() -> list[Path]:
    """scikit-learn's digits.csv.gz, found without importing scikit-learn (empty if not there)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return []
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    return [path] if path.is_file() else []


@DATASETS.register("digits")
def load_digits(root: Path, download: bool) -> DatasetBundle:
    return cached_bundle(root, "digits", bundled_digits_file(), build_digits,
                         extra=f"test{DIGITS_TEST_FRACTION}-seed{DIGITS_SPLIT_SEED}")


def build_digits() -> DatasetBundle:
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    raw = sk_load_digits()
    images = raw.images.astype(np.float32) / 16.0  # pixel values 0..16 -> [0, 1]
    labels = raw.target.astype(np.int64)
    # fixed, stratified split so every run sees the same train/test sets
    tr_idx, te_idx = train_test_split(
        np.arange(len(labels)),
        test_size=DIGITS_TEST_FRACTION,
        stratify=labels,
        random_state=DIGITS_SPLIT_SEED,
    )
    x = torch.from_numpy(images).unsqueeze(1)  # (N, 1, 8, 8)
    y = torch.from_numpy(labels)
    x_train, mean, std = normalise(x[tr_idx])
    x_test = (x[te_idx] - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    return DatasetBundle(
        name="digits",
        x_train=x_train.contiguous(),
        y_train=y[tr_idx].contiguous(),
        x_test=x_test.contiguous(),
        y_test=y[te_idx].contiguous(),
        class_names=tuple(str(d) for d in range(10)),
        mean=mean,
        std=std,
        source="scikit-learn (bundled)",
    )
