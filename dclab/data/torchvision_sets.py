"""MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100 and SVHN in torchvision's folder layout under the root.

Files are read directly (IDX, pickled CIFAR batches, SVHN .mat), so no integrity hashing on every
load; torchvision is only used to download them when `download=True`. Normalisation uses the
mean/std of the DC reference code (`utils.get_dataset`). When files are missing and cannot be
downloaded, `DatasetUnavailableError` names the files expected and where, in one line.
"""
from __future__ import annotations

import contextlib
import io
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dclab.data.bundle import DatasetBundle
from dclab.data.cache import DecodedSplits, cache_path, cached_bundle, load_cached, normalised_bundle
from dclab.data.errors import DatasetUnavailableError
from dclab.data.idx import read_idx
from dclab.data.imagefolder import decode_imagefolder, imagefolder_check, imagefolder_sources
from dclab.data.registry import DATASETS
from dclab.data.status import find_files, register_check

FASHION_MNIST_DEBIAN = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist
MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DIGIT_CLASSES = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class Located:
    """Where a data set's files were found and how to decode them."""

    where: Path
    sources: tuple[Path, ...]  # files whose size/mtime identify the cache entry
    read: Callable[[], DecodedSplits]


@dataclass(frozen=True)
class TorchvisionSet:
    name: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    locate: Callable[[Path], Located | None]
    expected: Callable[[Path], str]  # "files ... in <folder>", for messages
    download: Callable[[Path], None]

    def load(self, root: Path, download: bool) -> DatasetBundle:
        found = self.locate(root)
        reason = "download=False"
        if found is None and download:
            reason = _try_download(self.download, root)
            found = self.locate(root)
        if found is None:
            orphan = load_cached(cache_path(root, self.name), signature=None)
            if orphan is None:
                raise DatasetUnavailableError(
                    f"{self.name} is not available: expected {self.expected(root)} ({reason})"
                )
            return orphan
        return cached_bundle(
            root, self.name, found.sources,
            lambda: normalised_bundle(self.name, found.read(), self.mean, self.std, source=str(found.where)),
        )

    def check(self, root: Path) -> tuple[bool, str]:
        found = self.locate(root)
        if found is not None:
            return True, f"files in {found.where}"
        if cache_path(root, self.name).is_file():
            return True, f"cached in {cache_path(root, self.name)}"
        return False, f"expected {self.expected(root)}; downloads on first use when online"


def _try_download(download: Callable[[Path], None], root: Path) -> str:
    """Run a torchvision download quietly; returns why it failed (one line) or "" on success."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        with contextlib.redirect_stdout(io.StringIO()):
            download(root)
        return ""
    except Exception as exc:  # offline, HTTP error, bad archive: all mean "not available"
        text = " ".join(str(exc).split()) or type(exc).__name__  # one line, whitespace collapsed
        return f"download failed: {text[:200]}"


def _register(spec: TorchvisionSet) -> TorchvisionSet:
    DATASETS.register(spec.name)(spec.load)
    register_check(spec.name)(spec.check)
    return spec


# ---- MNIST / Fashion-MNIST: IDX files (plain or .gz) ----------------------------------------


def _idx_locate(folders: Callable[[Path], list[Path]], class_names: tuple[str, ...]) -> Callable[[Path], Located | None]:
    def locate(root: Path) -> Located | None:
        folder, files = find_files(folders(root), MNIST_FILES, suffixes=("", ".gz"))
        if folder is None:
            return None

        def read() -> DecodedSplits:
            def images(stem: str) -> torch.Tensor:
                return torch.from_numpy(read_idx(files[stem]).copy()).unsqueeze(1)  # (N, 1, 28, 28)

            def labels(stem: str) -> torch.Tensor:
                return torch.from_numpy(read_idx(files[stem]).astype(np.int64))

            return DecodedSplits(
                images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte"),
                images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"), class_names,
            )

        return Located(folder, tuple(files.values()), read)

    return locate


def _idx_expected(folders: Callable[[Path], list[Path]]) -> Callable[[Path], str]:
    def expected(root: Path) -> str:
        where = " or ".join(str(f) for f in folders(root))
        return f"{', '.join(n + '[.gz]' for n in MNIST_FILES)} in {where}"

    return expected


def _mnist_folders(root: Path) -> list[Path]:
    return [root / "MNIST" / "raw"]


def _fashion_folders(root: Path) -> list[Path]:
    return [root / "FashionMNIST" / "raw", FASHION_MNIST_DEBIAN]


def _download_torchvision(cls_name: str, **kwargs) -> Callable[[Path], None]:
    def download(root: Path) -> None:
        import torchvision.datasets as tvd

        getattr(tvd, cls_name)(str(root), download=True, **kwargs)

    return download


MNIST = _register(TorchvisionSet(
    "mnist", (0.1307,), (0.3081,),
    _idx_locate(_mnist_folders, DIGIT_CLASSES), _idx_expected(_mnist_folders),
    _download_torchvision("MNIST", train=True),
))
FASHION_MNIST = _register(TorchvisionSet(
    "fashion_mnist", (0.2861,), (0.3530,),
    _idx_locate(_fashion_folders, FASHION_CLASSES), _idx_expected(_fashion_folders),
    _download_torchvision("FashionMNIST", train=True),
))


# ---- CIFAR-10 / CIFAR-100: pickled batches (or, for CIFAR-10, an image folder) -------------


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def _cifar_arrays(paths: list[Path], label_key: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate pickled batches: data (N, 3072) uint8 rows, channel-major -> (N, 3, 32, 32)."""
    batches = [_unpickle(p) for p in paths]
    x = np.concatenate([b["data"] for b in batches]).reshape(-1, 3, 32, 32)
    y = np.concatenate([np.asarray(b[label_key], dtype=np.int64) for b in batches])
    return torch.from_numpy(x), torch.from_numpy(y)


CIFAR10_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
CIFAR100_FILES = ["train", "test", "meta"]


def _cifar10_locate(root: Path) -> Located | None:
    folder, files = find_files([root / "cifar-10-batches-py"], CIFAR10_FILES)
    if folder is not None:
        def read() -> DecodedSplits:
            x_tr, y_tr = _cifar_arrays([files[f"data_batch_{i}"] for i in range(1, 6)], "labels")
            x_te, y_te = _cifar_arrays([files["test_batch"]], "labels")
            names = tuple(_unpickle(files["batches.meta"])["label_names"])
            return DecodedSplits(x_tr, y_tr, x_te, y_te, names)

        return Located(folder, tuple(files.values()), read)
    jpeg_folder = root / "cifar10"  # e.g. the JPEG copy extracted: cifar10/{train,test}/<class>/
    if imagefolder_check(jpeg_folder)[0]:
        return Located(jpeg_folder, tuple(imagefolder_sources(jpeg_folder)), lambda: decode_imagefolder(jpeg_folder))
    return None


def _cifar10_expected(root: Path) -> str:
    return (
        f"{', '.join(CIFAR10_FILES)} in {root / 'cifar-10-batches-py'} "
        f"or class folders {root / 'cifar10'}/train/<class>/ and test/<class>/"
    )


def _cifar100_locate(root: Path) -> Located | None:
    folder, files = find_files([root / "cifar-100-python"], CIFAR100_FILES)
    if folder is None:
        return None

    def read() -> DecodedSplits:
        x_tr, y_tr = _cifar_arrays([files["train"]], "fine_labels")
        x_te, y_te = _cifar_arrays([files["test"]], "fine_labels")
        return DecodedSplits(x_tr, y_tr, x_te, y_te, tuple(_unpickle(files["meta"])["fine_label_names"]))

    return Located(folder, tuple(files.values()), read)


def _cifar100_expected(root: Path) -> str:
    return f"{', '.join(CIFAR100_FILES)} in {root / 'cifar-100-python'}"


CIFAR10 = _register(TorchvisionSet(
    "cifar10", (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010),
    _cifar10_locate, _cifar10_expected, _download_torchvision("CIFAR10", train=True),
))
CIFAR100 = _register(TorchvisionSet(
    "cifar100", (0.5071, 0.4866, 0.4409), (0.2673, 0.2564, 0.2762),
    _cifar100_locate, _cifar100_expected, _download_torchvision("CIFAR100", train=True),
))


# ---- SVHN: MATLAB files train_32x32.mat / test_32x32.mat ------------------------------------

SVHN_FILES = ["train_32x32.mat", "test_32x32.mat"]


def _svhn_arrays(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    from scipy.io import loadmat

    mat = loadmat(str(path))
    x = np.ascontiguousarray(np.transpose(mat["X"], (3, 2, 0, 1)))  # (H, W, C, N) -> (N, C, H, W)
    y = mat["y"].astype(np.int64).reshape(-1)
    y[y == 10] = 0  # SVHN stores digit 0 as label 10
    return torch.from_numpy(x), torch.from_numpy(y)


def _svhn_locate(root: Path) -> Located | None:
    folder, files = find_files([root], SVHN_FILES)
    if folder is None:
        return None

    def read() -> DecodedSplits:
        x_tr, y_tr = _svhn_arrays(files["train_32x32.mat"])
        x_te, y_te = _svhn_arrays(files["test_32x32.mat"])
        return DecodedSplits(x_tr, y_tr, x_te, y_te, DIGIT_CLASSES)

    return Located(folder, tuple(files.values()), read)


def _svhn_download(root: Path) -> None:
    import torchvision.datasets as tvd

    for split in ("train", "test"):
        tvd.SVHN(str(root), split=split, download=True)


SVHN = _register(TorchvisionSet(
    "svhn", (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970),
    _svhn_locate, lambda root: f"{', '.join(SVHN_FILES)} in {root}", _svhn_download,
))
