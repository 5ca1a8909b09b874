"""Exports of a synthetic set: PNG grid, official DC .pt, ImageFolder (folder or zip), evolution GIF.

Pictures are un-normalised with the data set's mean/std and clipped to [0, 1], one row per class,
upscaled by nearest neighbour so that tiny (8x8) images stay visible.
"""
from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torch import Tensor

from dclab.data.bundle import DatasetBundle
from dclab.runs.atomic import atomic_write, save_torch
from dclab.runs.store import CorruptRunError, RunDir
from dclab.synthetic import SyntheticSet, class_major_labels

TARGET_TILE = 64  # default upscaling aims at tiles about this many pixels wide
GAP = 2  # white pixels between tiles
LABEL_CHAR_W = 7  # width per character of the class-name column (PIL's default bitmap font)


def tile_scale(height: int) -> int:
    """Integer nearest-neighbour factor: 8 for 8x8, 2 for 28x28/32x32, 1 for 64x64 and up."""
    return max(1, TARGET_TILE // max(height, 1))


def grid_image(
    images01: Tensor, ipc: int, class_names: Sequence[str] | None = None, scale: int | None = None
) -> Image.Image:
    """A grid of images01 (N, C, H, W) in [0, 1], class-major: one row per class, ipc columns.

    Size without names: width = ipc*W*s + (ipc-1)*GAP, height = rows*H*s + (rows-1)*GAP.
    With class_names a label column is added on the left.
    """
    if images01.dim() != 4 or images01.shape[0] % ipc:
        raise ValueError(f"need (classes*ipc, C, H, W) images, got {tuple(images01.shape)} for ipc {ipc}")
    n, c, h, w = images01.shape
    rows, s = n // ipc, scale or tile_scale(h)
    x = images01.detach().cpu().float().clamp(0, 1)
    x = x.repeat_interleave(s, dim=2).repeat_interleave(s, dim=3)  # nearest-neighbour upscaling
    th, tw = h * s, w * s
    label_w = 0 if not class_names else LABEL_CHAR_W * max(len(str(t)) for t in class_names) + 2 * GAP
    canvas = torch.ones(3, rows * th + (rows - 1) * GAP, label_w + ipc * tw + (ipc - 1) * GAP)  # white
    tiles = x.expand(-1, 3, -1, -1) if c == 1 else x[:, :3]
    for i in range(n):
        r, k = divmod(i, ipc)
        top, left = r * (th + GAP), label_w + k * (tw + GAP)
        canvas[:, top:top + th, left:left + tw] = tiles[i]
    img = Image.fromarray((canvas.permute(1, 2, 0).numpy() * 255).round().astype("uint8"), "RGB")
    if class_names:
        draw = ImageDraw.Draw(img)
        for r, name in enumerate(list(class_names)[:rows]):
            draw.text((GAP, r * (th + GAP) + max(0, th // 2 - 5)), str(name), fill=(0, 0, 0))
    return img


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
        folder = f"{c:0{width}d}_{re.sub(r'[^A-Za-z0-9_.-]+', '-', str(name))}"
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
    cfg = run_dir.read_run_config()
    ds, ipc = cfg["dataset"], cfg["ipc"]
    mean = torch.tensor(ds["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(ds["std"]).view(1, -1, 1, 1)
    if len(its) > max_frames:
        pos = torch.linspace(0, len(its) - 1, max_frames).round().long().unique().tolist()
        its = [its[p] for p in pos]
    frames = [grid_image((run_dir.load_snapshot(it).float() * std + mean).clamp(0, 1), ipc) for it in its]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return buf.getvalue()


# ---- a run's current images -------------------------------------------------------------
def synthetic_from_run(run_dir: RunDir) -> SyntheticSet:
    """The run's newest good images as a SyntheticSet (see `run_images`)."""
    return run_images(run_dir)[0]


def run_images(run_dir: RunDir) -> tuple[SyntheticSet, str]:
    """(set, where it came from): final.pt if present, else the newest readable of the checkpoint and
    the snapshots (a crashed run's snapshots may be newer than its checkpoint). A cut or tampered
    file is skipped when an older good one exists; CorruptRunError names it when none does."""
    if run_dir.has_final():
        syn = run_dir.load_final()
        it = run_dir.read_status().get("iteration")
        return syn, f"final.pt (iteration {it})" if isinstance(it, int) else "final.pt"
    cfg = run_dir.read_run_config()
    candidates: list[tuple[int, str]] = [(it, "snapshot") for it in run_dir.snapshot_iterations()]
    first_error: CorruptRunError | None = None
    if run_dir.has_checkpoint():
        try:
            state = run_dir.load_checkpoint()
            candidates.append((int(state["iteration"]), "checkpoint"))
        except CorruptRunError as e:
            first_error = e
    for it, source in sorted(candidates, key=lambda c: (c[0], c[1] == "checkpoint"), reverse=True):
        try:
            images = state["images"] if source == "checkpoint" else run_dir.load_snapshot(it)
            return _set_from_images(run_dir, cfg, images), f"{source} of iteration {it}"
        except CorruptRunError as e:
            first_error = first_error or e
    if first_error is not None:
        raise first_error
    raise ValueError(f"run {run_dir.run_id} has no images yet (no final.pt, checkpoint or snapshot)")


def snapshot_set(run_dir: RunDir, iteration: int) -> SyntheticSet:
    """The run's images at a snapshot as a set; multi-formation runs (IDC, MDC on IDC) carry their
    formation factor, so `.decoded()` gives the images a network trains on."""
    cfg = run_dir.read_run_config()
    syn = _set_from_images(run_dir, cfg, run_dir.load_snapshot(iteration))
    config = syn.config
    multi = syn.method == "idc" or (syn.method == "mdc" and config.get("base") == "idc")
    factor = config.get("factor", 1) if multi else 1
    if isinstance(factor, int) and factor > 1:
        return replace(syn, extras={"formation_factor": factor})
    return syn


def _set_from_images(run_dir: RunDir, cfg: dict, images: Tensor) -> SyntheticSet:
    ds = cfg["dataset"]
    class_names = tuple(ds["class_names"])
    if images.shape[0] != len(class_names) * cfg["ipc"] or list(images.shape[1:]) != list(ds.get("shape") or
                                                                                      images.shape[1:]):
        raise CorruptRunError(f"{run_dir.path}: images of shape {tuple(images.shape)} do not fit the run "
                              f"({len(class_names)} classes x IPC {cfg['ipc']}, {ds.get('shape')})")
    return SyntheticSet(
        images=images.detach().cpu().float(),
        labels=class_major_labels(len(class_names), cfg["ipc"]),
        dataset=ds["name"],
        class_names=class_names,
        mean=tuple(ds["mean"]),
        std=tuple(ds["std"]),
        method=str(cfg.get("method", "unknown")),
        config=dict(cfg.get("config") or {}),
        seed=cfg.get("seed"),
    )
