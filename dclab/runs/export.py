"""Export formats of a synthetic set: PNG grid, official DC .pt, ImageFolder (folder or zip), evolution GIF.

One section per format; a new format is a new section here (and a choice in `dclab/cli/export_cmd.py`).
Pictures are drawn by `dclab.viz.grid` (un-normalised, one row per class, upscaled).
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from dclab.data.bundle import DatasetBundle, denormalize
from dclab.files import atomic_write, safe_name, save_torch
from dclab.runs.record import read_record
from dclab.runs.store import RunDir
from dclab.synthetic import SyntheticSet, class_major_labels
from dclab.viz.grid import grid_image


def save_png_grid(synthetic: SyntheticSet, path: str | Path) -> None:
    img = grid_image(synthetic.denormalized(), synthetic.ipc, synthetic.class_names)
    atomic_write(Path(path), lambda p: img.save(p, format="PNG"))


# ---- official DC/DSA/DM format ------------------------------------------------------------
def save_official_pt(synthetic: SyntheticSet, path: str | Path) -> None:
    """`{'data': [[images, labels]]}` as the authors' code saves it (normalised images, CPU tensors)."""
    s = synthetic.detach_cpu()
    save_torch(Path(path), {"data": [[s.images, s.labels]]})


def load_official_pt(path: str | Path, data: DatasetBundle) -> SyntheticSet:
    """Read an official-format .pt (first experiment) as a class-major SyntheticSet for `data`.

    Raises ValueError with one line when the file cannot be read or does not fit `data`.
    """
    path = Path(path)
    try:
        obj = torch.load(path, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise
    except Exception as e:  # noqa: BLE001 - torch.load fails on junk with many types (even IndexError)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ValueError(f"{path.name} is not a readable torch file: {first[:200]}") from None
    try:
        images, labels = obj["data"][0][0], obj["data"][0][1]
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"{path.name} is not in the official format {{'data': [[images, labels]]}}") from None
    if not isinstance(images, Tensor) or not isinstance(labels, Tensor):
        raise ValueError(f"{path.name}: images and labels must be tensors")  # noqa: TRY004 (a bad file)
    if images.dim() != 4 or tuple(images.shape[1:]) != data.shape:
        raise ValueError(f"{path.name}: images of shape {tuple(images.shape)} do not fit {data.name} "
                         f"(N, {', '.join(map(str, data.shape))})")
    if labels.dim() != 1 or labels.shape[0] != images.shape[0] or labels.dtype.is_floating_point:
        raise ValueError(f"{path.name}: labels must be ({images.shape[0]},) integers, got {tuple(labels.shape)} "
                         f"{labels.dtype}")
    if not bool(torch.isfinite(images).all()):
        raise ValueError(f"{path.name}: images contain NaN or infinite values")
    labels = labels.long()
    if images.shape[0] == 0 or labels.min() < 0 or labels.max() >= data.num_classes:
        raise ValueError(f"{path.name}: labels must be class indices in 0..{data.num_classes - 1}")
    counts = torch.bincount(labels, minlength=data.num_classes)
    if not bool((counts == counts[0]).all()):
        raise ValueError(f"{path.name}: every class needs the same number of images, got {counts.tolist()}")
    order = torch.sort(labels, stable=True).indices  # class-major
    ipc = int(counts[0])
    return SyntheticSet(
        images=images[order].float().clone(),
        labels=class_major_labels(data.num_classes, ipc),
        dataset=data.name,
        class_names=data.class_names,
        mean=data.mean,
        std=data.std,
        method="imported",
        config={"source": path.name},
    )


# ---- ImageFolder ------------------------------------------------------------------------
def _png_bytes(img01: Tensor) -> bytes:
    """(C, H, W) in [0, 1] -> PNG bytes at the native resolution."""
    arr = (img01.permute(1, 2, 0).numpy() * 255).round().astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr[:, :, :3]).save(buf, format="PNG")
    return buf.getvalue()


def _imagefolder_entries(synthetic: SyntheticSet) -> list[tuple[str, bytes]]:
    """(relative path '<class>/<i>.png', bytes) for every image; class folders sort in class order."""
    x, ipc = synthetic.denormalized(), synthetic.ipc
    width = len(str(synthetic.num_classes - 1))
    out = []
    for c, name in enumerate(synthetic.class_names):
        folder = f"{c:0{width}d}_{safe_name(name)}"
        for i in range(ipc):
            out.append((f"{folder}/{i:03d}.png", _png_bytes(x[c * ipc + i])))
    return out


def save_imagefolder(synthetic: SyntheticSet, folder: str | Path) -> None:
    """torchvision ImageFolder layout: <folder>/<NN_class>/<i>.png (native resolution, un-normalised)."""
    folder = Path(folder)
    for rel, data in _imagefolder_entries(synthetic):
        atomic_write(folder / rel, lambda p, d=data: p.write_bytes(d))


def imagefolder_zip_bytes(synthetic: SyntheticSet) -> bytes:
    """The ImageFolder layout as a zip archive in memory (for a download button)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for rel, data in _imagefolder_entries(synthetic):
            z.writestr(rel, data)
    return buf.getvalue()


# ---- evolution GIF ----------------------------------------------------------------------
def evolution_gif_bytes(run_dir: RunDir, max_frames: int = 60, frame_ms: int = 120) -> bytes:
    """An animated GIF of a run's snapshots (at most max_frames, evenly spaced, last one included)."""
    its = run_dir.snapshot_iterations()
    if not its:
        raise ValueError(f"run {run_dir.run_id} has no snapshots yet")
    record = read_record(run_dir)
    ds, ipc = record.dataset, record.ipc
    if len(its) > max_frames:
        pos = torch.linspace(0, len(its) - 1, max_frames).round().long().unique().tolist()
        its = [its[p] for p in pos]
    frames = [grid_image(denormalize(run_dir.load_snapshot(it).float(), ds.mean, ds.std), ipc) for it in its]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return buf.getvalue()
