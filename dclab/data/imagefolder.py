"""Class-per-folder image data: `<path>/train/<class>/*.jpg|png|...` and `<path>/test/<class>/...`.

Class names are the train sub-folder names, sorted. Every image is converted to the mode of the
first one (grayscale -> 1 channel, else RGB) and, if its size differs, resized to the first
image's size. Normalisation uses per-channel mean/std of the train split unless given. Decoded
and normalised tensors are cached under the data root (`.dclab_cache/`, keyed by a hash of the folder path).
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from dclab.data.bundle import DatasetBundle
from dclab.data.cache import DecodedSplits, cached_bundle, normalised_bundle
from dclab.data.errors import DatasetUnavailableError
from dclab.data.registry import IMAGEFOLDER_PREFIX, default_data_root

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_GRAY_MODES = ("1", "L", "I", "I;16", "F", "LA")


def imagefolder_check(path: Path) -> tuple[bool, str]:
    """(available, detail) from the folder layout alone."""
    missing = [s for s in ("train", "test") if not (path / s).is_dir()]
    if missing:
        return False, (
            f"expected class folders {path}/train/<class>/ and {path}/test/<class>/ "
            f"(missing: {', '.join(m + '/' for m in missing)})"
        )
    return True, f"image folder {path}"


def list_images(split_dir: Path, class_names: tuple[str, ...] | None = None) -> tuple[tuple[str, ...], list[Path], list[int]]:
    """(class names, files, labels) of one split; files sorted by class, then by name."""
    classes = tuple(sorted(d.name for d in split_dir.iterdir() if d.is_dir() and not d.name.startswith(".")))
    if class_names is not None:
        unknown = sorted(set(classes) - set(class_names))
        if unknown:
            raise ValueError(f"{split_dir} has classes not in train/: {', '.join(unknown)}")
        classes = class_names
    files: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        folder = split_dir / name
        if not folder.is_dir():
            continue
        found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        files += found
        labels += [label] * len(found)
    return classes, files, labels


def decode_pil(path: Path, mode: str, size: tuple[int, int]) -> np.ndarray:
    """One image as (H, W, C) uint8 in `mode` ("L" or "RGB"), resized to `size` = (W, H) if needed."""
    try:
        with Image.open(io.BytesIO(path.read_bytes())) as im:  # one read, no seeks on the file
            if im.mode != mode:
                im = im.convert(mode)
            if im.size != size:
                im = im.resize(size, Image.BILINEAR)
            arr = np.asarray(im)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:  # PIL's kinds of junk
        raise DatasetUnavailableError(f"{path} is not a readable image ({type(e).__name__})") from None
    return arr[:, :, None] if arr.ndim == 2 else arr


def decode_images(files: list[Path], mode: str, size: tuple[int, int]) -> Tensor:
    """Decode `files` with PIL into one (N, C, H, W) uint8 tensor (written in place, no list)."""
    w, h = size
    out = np.empty((len(files), h, w, 1 if mode == "L" else 3), dtype=np.uint8)  # (N, H, W, C)
    for i, f in enumerate(files):
        out[i] = decode_pil(f, mode, size)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()  # (N, C, H, W)


def decode_imagefolder(path: Path) -> DecodedSplits:
    """Read both splits of an image folder into uint8 tensors."""
    classes, train_files, train_labels = list_images(path / "train")
    _, test_files, test_labels = list_images(path / "test", classes)
    if not classes or not train_files:
        raise DatasetUnavailableError(f"{path}/train has no class folders with images ({', '.join(IMAGE_SUFFIXES)})")
    for split, labels in (("train", train_labels), ("test", test_labels)):
        if len(set(labels)) < 2:
            raise DatasetUnavailableError(f"{path}/{split} has images of {len(set(labels))} class(es); "
                                          f"a classification data set needs at least 2")
    try:
        with Image.open(train_files[0]) as first:
            mode = "L" if first.mode in _GRAY_MODES else "RGB"
            size = first.size  # (W, H)
    except (OSError, ValueError, SyntaxError) as e:
        raise DatasetUnavailableError(f"{train_files[0]} is not a readable image ({type(e).__name__})") from None
    return DecodedSplits(
        x_train=decode_images(train_files, mode, size),
        y_train=torch.tensor(train_labels, dtype=torch.int64),
        x_test=decode_images(test_files, mode, size),
        y_test=torch.tensor(test_labels, dtype=torch.int64),
        class_names=classes,
    )


def imagefolder_sources(path: Path) -> list[Path]:
    """The split and class folders: their mtimes change when images are added or removed."""
    dirs = [path / "train", path / "test"]
    return dirs + [d for split in dirs for d in split.iterdir() if d.is_dir()]


def load_imagefolder(
    path: Path,
    *,
    name: str | None = None,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
    cache_root: Path | None = None,
) -> DatasetBundle:
    """Load a class-per-folder data set (see module doc); mean/std None = train statistics."""
    path = Path(path).expanduser().resolve()
    ok, detail = imagefolder_check(path)
    if not ok:
        raise DatasetUnavailableError(f"imagefolder {path}: {detail}")
    root = cache_root if cache_root is not None else default_data_root()
    key = "imagefolder-" + hashlib.sha1(str(path).encode()).hexdigest()[:16]
    name = name or f"{IMAGEFOLDER_PREFIX}{path}"
    return cached_bundle(
        root, key, imagefolder_sources(path),
        lambda: normalised_bundle(name, decode_imagefolder(path), mean, std, source=str(path)),
        extra=repr((name, mean, std)),
    )
