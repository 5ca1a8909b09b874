"""Data set loaders on small real data, the disk cache, image folders and the status checks."""
from __future__ import annotations

import gzip
import pickle
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from dclab.data import DATASETS, DatasetBundle, DatasetUnavailableError, load_dataset
from dclab.data.cache import CACHE_DIR_NAME, cache_path
from dclab.data.idx import read_idx
from dclab.data.imagefolder import decode_images, list_images, load_imagefolder
from dclab.data.status import all_dataset_status, dataset_status
from dclab.registry import UnknownNameError

CIFAR_TRAIN_PER_CLASS, CIFAR_TEST_PER_CLASS = 12, 4
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
MNIST_STEMS = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


# ---- fixtures: tmp data roots built from the offline copies ----------------------------------


def _link_idx(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.glob("*-ubyte.gz"):
        (dst / f.name).symlink_to(f)


@pytest.fixture(scope="module")
def idx_root(tmp_path_factory, shared_data) -> Path:
    """torchvision layout: <root>/MNIST/raw and <root>/FashionMNIST/raw, linking the .gz files."""
    root = tmp_path_factory.mktemp("idx_root")
    _link_idx(shared_data / "mnist", root / "MNIST" / "raw")
    _link_idx(shared_data / "fashion-mnist", root / "FashionMNIST" / "raw")
    return root


@pytest.fixture(scope="module")
def cifar_folder(tmp_path_factory, shared_data) -> Path:
    """A few JPEGs per class of the CIFAR-10 copy, extracted to <tmp>/cifar10/{train,test}/<class>/."""
    out = tmp_path_factory.mktemp("cifar_root") / "cifar10"
    quota = {"train": CIFAR_TRAIN_PER_CLASS, "test": CIFAR_TEST_PER_CLASS}
    taken: dict[tuple[str, str], int] = {}
    with tarfile.open(shared_data / "cifar10-jpeg.tar.gz", "r:gz") as tar:
        for member in tar:
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) < 3:
                continue
            split, cls = parts[-3], parts[-2]
            if split in quota and taken.get((split, cls), 0) < quota[split]:
                taken[(split, cls)] = taken.get((split, cls), 0) + 1
                target = out / split / cls / parts[-1]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(member).read())
            if len(taken) == 20 and all(taken[k] == quota[k[0]] for k in taken):
                break
    return out


@pytest.fixture
def roots(request, tmp_path) -> dict[str, Path]:
    """Per data set, a root holding its small real copy; names without one get an empty root."""
    table: dict[str, Path] = {}
    for name in DATASETS.names():
        table[name] = tmp_path / "empty"
    if "mnist" in DATASETS.names() or "fashion_mnist" in DATASETS.names():
        idx = request.getfixturevalue("idx_root")
        table["mnist"] = table["fashion_mnist"] = idx
    cifar = request.getfixturevalue("cifar_folder")
    table["cifar10"] = cifar.parent
    return table


# what each loader must produce from the small copies: (shape, train size, test size, classes)
EXPECTED = {
    "digits": ((1, 8, 8), None, None, tuple(str(d) for d in range(10))),
    "mnist": ((1, 28, 28), 60_000, 10_000, tuple(str(d) for d in range(10))),
    "fashion_mnist": ((1, 28, 28), 60_000, 10_000, ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")),
    "cifar10": ((3, 32, 32), 10 * CIFAR_TRAIN_PER_CLASS, 10 * CIFAR_TEST_PER_CLASS, CIFAR_CLASSES),
}
# no offline copy: a one-line DatasetUnavailableError naming these files
EXPECTED_MISSING = {
    "cifar100": ["cifar-100-python", "train", "test", "meta"],
    "svhn": ["train_32x32.mat", "test_32x32.mat"],
}


def check_bundle(b: DatasetBundle, shape, n_train, n_test, classes, *, mean_tol=0.05, std_range=(0.9, 1.1)) -> None:
    assert b.x_train.dtype == torch.float32 and b.x_test.dtype == torch.float32
    assert b.y_train.dtype == torch.int64 and b.y_test.dtype == torch.int64
    assert b.shape == shape and tuple(b.x_test.shape[1:]) == shape
    if n_train is not None:
        assert len(b.x_train) == len(b.y_train) == n_train and len(b.x_test) == len(b.y_test) == n_test
    assert b.class_names == classes and len(b.mean) == len(b.std) == shape[0]
    for y in (b.y_train, b.y_test):
        assert int(y.min()) >= 0 and int(y.max()) < b.num_classes
    assert torch.isfinite(b.x_train).all()
    # normalised: per-channel train mean ~ 0 and std ~ 1
    mean, std = b.x_train.mean(dim=(0, 2, 3)), b.x_train.std(dim=(0, 2, 3))
    assert mean.abs().max() < mean_tol, mean
    assert std.min() > std_range[0] and std.max() < std_range[1], std
    # indices_per_class partitions the train set by label
    assert sum(len(i) for i in b.indices_per_class) == len(b.y_train)
    for c, idx in enumerate(b.indices_per_class):
        assert len(idx) > 0 and bool((b.y_train[idx] == c).all())


# ---- every registered data set ---------------------------------------------------------------


@pytest.mark.parametrize("name", DATASETS.names())
def test_loader_on_small_real_data(name: str, roots) -> None:
    """Loads from the small copies; sets without a copy fail with one line naming the files."""
    root = roots[name]
    try:
        bundle = DATASETS.get(name)(root, False)
    except DatasetUnavailableError as err:
        assert name not in EXPECTED, f"{name} should load from its test copy: {err}"
        msg = str(err)
        assert "\n" not in msg and name in msg and str(root) in msg
        for word in EXPECTED_MISSING.get(name, []):
            assert word in msg
        assert not dataset_status(name, root).available
        return
    assert name not in EXPECTED_MISSING, f"{name} loaded without any files"
    # a set registered later without an entry in EXPECTED is checked against its own shape
    expected = EXPECTED.get(name, (bundle.shape, None, None, bundle.class_names))
    # the DC reference constants for CIFAR-10 (std ~0.20 vs the true ~0.25) leave the normalised
    # std near 1.25 on the full set; our 120-image subset reaches 1.38 in the blue channel
    std_range = (0.9, 1.5) if name == "cifar10" else (0.9, 1.1)
    mean_tol = 0.15 if name == "cifar10" else 0.05  # only 120 train images there
    check_bundle(bundle, *expected, mean_tol=mean_tol, std_range=std_range)
    assert dataset_status(name, root).available


def test_mnist_pixels_match_the_idx_files(idx_root) -> None:
    b = DATASETS.get("mnist")(idx_root, False)
    raw = read_idx(idx_root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz")  # (60000, 28, 28) uint8
    labels = read_idx(idx_root / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz")
    assert b.y_train[:20].tolist() == labels[:20].tolist()
    restored = (b.x_train[:50, 0] * 0.3081 + 0.1307) * 255  # undo the reference normalisation
    torch.testing.assert_close(restored, torch.from_numpy(raw[:50].astype(np.float32)), atol=1e-3, rtol=0)
    assert b.mean == (0.1307,) and b.std == (0.3081,)


def test_disk_cache_second_load_fast_and_identical(tmp_path, shared_data) -> None:
    root = tmp_path / "root"
    _link_idx(shared_data / "mnist", root / "MNIST" / "raw")
    loader = DATASETS.get("mnist")
    # CPU time, not wall time: other processes share this machine's cores
    t0 = time.process_time()
    first = loader(root, False)  # decodes the IDX files and writes the cache
    t_first = time.process_time() - t0
    assert cache_path(root, "mnist").is_file()
    t0 = time.process_time()
    second = loader(root, False)  # no in-memory memo at this level: read back from disk
    t_second = time.process_time() - t0
    for field in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(first, field), getattr(second, field))
    assert t_second < 1.0 and t_second < 0.5 * t_first, (t_first, t_second)
    # the cache alone suffices once the raw files are gone
    for f in (root / "MNIST" / "raw").iterdir():
        f.unlink()
    assert torch.equal(loader(root, False).x_test, first.x_test)
    assert dataset_status("mnist", root).available


def test_digits_second_load_comes_from_the_disk_cache(tmp_path) -> None:
    """The embedded default is cached too, keyed by scikit-learn's bundled file."""
    loader = DATASETS.get("digits")
    first = loader(tmp_path, False)
    assert cache_path(tmp_path, "digits").is_file()
    second = loader(tmp_path, False)
    for field in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(first, field), getattr(second, field))
    assert (second.mean, second.std, second.class_names) == (first.mean, first.std, first.class_names)


def test_stale_cache_is_rebuilt(tmp_path, shared_data) -> None:
    """A cache built from other source files is not used: the signature covers size and mtime."""
    root = tmp_path / "root"
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    # a tiny valid IDX copy: 3 train / 2 test images of the real data
    for stem, n in (("train-images-idx3-ubyte", 3), ("train-labels-idx1-ubyte", 3), ("t10k-images-idx3-ubyte", 2), ("t10k-labels-idx1-ubyte", 2)):
        arr = read_idx(shared_data / "mnist" / f"{stem}.gz")[:n]
        header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
        (raw / stem).write_bytes(header + arr.tobytes())
    loader = DATASETS.get("mnist")
    assert len(loader(root, False).x_train) == 3
    arr = read_idx(shared_data / "mnist" / "train-images-idx3-ubyte.gz")[:5]
    lab = read_idx(shared_data / "mnist" / "train-labels-idx1-ubyte.gz")[:5]
    (raw / "train-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape) + arr.tobytes())
    (raw / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + lab.tobytes())
    assert len(loader(root, False).x_train) == 5


# ---- formats ---------------------------------------------------------------------------------


def test_idx_plain_equals_gz_and_rejects_garbage(tmp_path, shared_data) -> None:
    gz = shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz"
    plain = tmp_path / "t10k-labels-idx1-ubyte"
    plain.write_bytes(gzip.decompress(gz.read_bytes()))
    a, b = read_idx(gz), read_idx(plain)
    assert a.shape == (10_000,) and np.array_equal(a, b) and set(np.unique(a)) == set(range(10))
    bad = tmp_path / "bad"
    bad.write_bytes(b"not an idx file")
    with pytest.raises(ValueError):
        read_idx(bad)


def test_cifar_pickles_and_svhn_mat_match_image_folder(tmp_path, cifar_folder) -> None:
    """The CIFAR-10/100 batch and SVHN .mat readers give the pixels the JPEG decoder gives."""
    from scipy.io import savemat

    ref = load_imagefolder(cifar_folder, cache_root=tmp_path / "cache")
    _, files, labels = list_images(cifar_folder / "train")
    pixels = decode_images(files, "RGB", (32, 32))  # (N, 3, 32, 32) uint8
    _, tfiles, tlabels = list_images(cifar_folder / "test", CIFAR_CLASSES)
    tpixels = decode_images(tfiles, "RGB", (32, 32))

    def dump(path: Path, obj) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(obj))

    c10 = tmp_path / "root" / "cifar-10-batches-py"
    rows = pixels.reshape(len(pixels), -1).numpy()  # (N, 3072), channel-major like the originals
    chunks = np.array_split(np.arange(len(rows)), 5)
    for i, idx in enumerate(chunks, start=1):
        dump(c10 / f"data_batch_{i}", {"data": rows[idx], "labels": [labels[j] for j in idx]})
    dump(c10 / "test_batch", {"data": tpixels.reshape(len(tpixels), -1).numpy(), "labels": tlabels})
    dump(c10 / "batches.meta", {"label_names": list(CIFAR_CLASSES)})
    b10 = DATASETS.get("cifar10")(tmp_path / "root", False)
    assert b10.class_names == CIFAR_CLASSES and torch.equal(b10.y_train, ref.y_train)
    torch.testing.assert_close(b10.denormalize(b10.x_train), ref.denormalize(ref.x_train), atol=1e-5, rtol=0)

    c100 = tmp_path / "root" / "cifar-100-python"
    dump(c100 / "train", {"data": rows, "fine_labels": labels})
    dump(c100 / "test", {"data": tpixels.reshape(len(tpixels), -1).numpy(), "fine_labels": tlabels})
    dump(c100 / "meta", {"fine_label_names": list(CIFAR_CLASSES)})
    b100 = DATASETS.get("cifar100")(tmp_path / "root", False)
    torch.testing.assert_close(b100.denormalize(b100.x_test), ref.denormalize(ref.x_test), atol=1e-5, rtol=0)

    def mat(px: torch.Tensor, y: list[int]) -> dict:
        return {"X": px.permute(2, 3, 1, 0).numpy(), "y": np.where(np.asarray(y) == 0, 10, y).reshape(-1, 1)}

    savemat(tmp_path / "root" / "train_32x32.mat", mat(pixels, labels))
    savemat(tmp_path / "root" / "test_32x32.mat", mat(tpixels, tlabels))
    svhn = DATASETS.get("svhn")(tmp_path / "root", False)
    assert torch.equal(svhn.y_train, ref.y_train)  # label 10 mapped back to digit 0
    torch.testing.assert_close(svhn.denormalize(svhn.x_train), ref.denormalize(ref.x_train), atol=1e-5, rtol=0)


# ---- image folders ---------------------------------------------------------------------------


def test_imagefolder_cifar_subset(tmp_path, cifar_folder) -> None:
    b = load_dataset(f"imagefolder:{cifar_folder}", root=tmp_path / "data")
    # normalised with its own train statistics: mean 0 / std 1 up to float error
    check_bundle(b, (3, 32, 32), 10 * CIFAR_TRAIN_PER_CLASS, 10 * CIFAR_TEST_PER_CLASS, CIFAR_CLASSES, mean_tol=1e-4, std_range=(0.999, 1.001))
    assert any((tmp_path / "data" / CACHE_DIR_NAME).glob("imagefolder-*.pt"))
    # class-major file order: first CIFAR_TRAIN_PER_CLASS images are airplanes
    assert b.y_train[:CIFAR_TRAIN_PER_CLASS].eq(0).all()


def test_imagefolder_mixed_modes_and_sizes(tmp_path) -> None:
    from PIL import Image

    gen = np.random.default_rng(0)
    for split in ("train", "test"):
        for cls, size in (("b_cls", (8, 8)), ("a_cls", (12, 10))):
            for i in range(3):
                img = Image.fromarray(gen.integers(0, 255, size[::-1], dtype=np.uint8), mode="L")
                folder = tmp_path / "f" / split / cls
                folder.mkdir(parents=True, exist_ok=True)
                img.save(folder / f"{i}.png")
    b = load_imagefolder(tmp_path / "f", cache_root=tmp_path / "cache")
    assert b.class_names == ("a_cls", "b_cls")  # sorted folder names
    assert b.shape == (1, 10, 12)  # gray -> 1 channel; all resized to the first image (12 wide, 10 high)
    assert len(b.x_train) == 6 and len(b.x_test) == 6


def test_imagefolder_missing_split_is_one_line(tmp_path) -> None:
    (tmp_path / "only" / "train" / "a").mkdir(parents=True)
    with pytest.raises(DatasetUnavailableError) as err:
        load_imagefolder(tmp_path / "only", cache_root=tmp_path)
    assert "\n" not in str(err.value) and "test/" in str(err.value)
    assert not dataset_status(f"imagefolder:{tmp_path / 'only'}").available


# ---- status ----------------------------------------------------------------------------------


def test_status_without_loading(tmp_path, idx_root) -> None:
    statuses = all_dataset_status(tmp_path)
    assert [s.name for s in statuses] == DATASETS.names()
    by_name = {s.name: s for s in statuses}
    assert by_name["digits"].available
    missing = by_name["mnist"]
    assert not missing.available and "train-images-idx3-ubyte" in missing.detail and str(tmp_path) in missing.detail
    assert "/usr/share/datasets/fashion-mnist" in by_name["fashion_mnist"].detail or by_name["fashion_mnist"].available
    assert dataset_status("mnist", idx_root).available
    with pytest.raises(UnknownNameError):
        dataset_status("no_such_set", tmp_path)
