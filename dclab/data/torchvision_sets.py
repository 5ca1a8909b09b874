"""MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100 and SVHN in torchvision's folder layout under the root.

Files are read directly (IDX, pickled CIFAR batches, SVHN .mat), so no integrity hashing on every
load; CIFAR batches go through an unpickler that only rebuilds numpy arrays (nothing in a data root
executes); torchvision is only used to download them when `download=True`. Normalisation uses the
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


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts/lists/str/bytes/numbers and numpy arrays, nothing else: a CIFAR batch is no
    more than that, and a planted `__reduce__` payload names some other callable, so it is refused
    before anything runs."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("_codecs", "encode"),  # bytes in a protocol-2 pickle written by Python 3 (harmless)
    }

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle's signature
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused {module}.{name}: a CIFAR batch holds only arrays")
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict:
    """A CIFAR python batch as a dict; DatasetUnavailableError (one line, naming the file) otherwise."""
    try:
        with open(path, "rb") as f:
            obj = _ArraysOnlyUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, ImportError, MemoryError) as e:
        raise DatasetUnavailableError(f"{path} is not a CIFAR batch: {e}") from None
    if not isinstance(obj, dict):
        raise DatasetUnavailableError(f"{path} is not a CIFAR batch: a {type(obj).__name__}, not a dict")
    return obj


def _batch_field(batch: dict, key: str, path: Path):  # noqa: ANN202 - a list or an ndarray
    if key not in batch:
        raise DatasetUnavailableError(f"{path} is not a CIFAR batch: no {key!r}")
    return batch[key]


def _cifar_arrays(paths: list[Path], label_key: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate pickled batches: data (N, 3072) uint8 rows, channel-major -> (N, 3, 32, 32)."""
    xs, ys = [], []
    for p in paths:
        b = _unpickle(p)
        x, y = _batch_field(b, "data", p), _batch_field(b, label_key, p)
        try:
            x = np.asarray(x, dtype=np.uint8).reshape(-1, 3, 32, 32)
            y = np.asarray(y, dtype=np.int64).reshape(-1)
        except (ValueError, TypeError) as e:
            raise DatasetUnavailableError(f"{p} is not a CIFAR batch: {e}") from None
        if x.shape[0] != y.shape[0]:
            raise DatasetUnavailableError(f"{p} is not a CIFAR batch: {x.shape[0]} images, {y.shape[0]} labels")
        xs.append(x)
        ys.append(y)
    return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))


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
