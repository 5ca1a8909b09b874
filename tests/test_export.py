"""Exports: official .pt round trip and validation, PNG grid size/content, ImageFolder, GIF frames."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from dclab.runs import RunDir
from dclab.runs.export import (
    evolution_gif_bytes,
    imagefolder_zip_bytes,
    load_official_pt,
    save_imagefolder,
    save_official_pt,
    save_png_grid,
)
from dclab.runs.reader import synthetic_from_run
from dclab.synthetic import SyntheticSet, class_major_labels
from dclab.viz.grid import GAP, grid_image


def digits_set(digits, ipc: int = 3, seed: int = 0) -> SyntheticSet:
    gen = torch.Generator().manual_seed(seed)
    return SyntheticSet(
        images=torch.randn(digits.num_classes * ipc, *digits.shape, generator=gen),
        labels=class_major_labels(digits.num_classes, ipc),
        dataset="digits", class_names=digits.class_names, mean=digits.mean, std=digits.std, method="dm",
    )


def test_official_pt_round_trip(digits, tmp_path):
    s = digits_set(digits)
    path = tmp_path / "syn.pt"
    save_official_pt(s, path)
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"data"} and torch.equal(raw["data"][0][0], s.images)
    back = load_official_pt(path, digits)
    assert torch.equal(back.images, s.images) and torch.equal(back.labels, s.labels)
    assert back.ipc == 3 and back.class_names == digits.class_names


def test_official_pt_reorders_to_class_major(digits, tmp_path):
    s = digits_set(digits, ipc=2)
    perm = torch.randperm(s.images.shape[0], generator=torch.Generator().manual_seed(1))
    torch.save({"data": [[s.images[perm], s.labels[perm]]]}, tmp_path / "shuffled.pt")
    back = load_official_pt(tmp_path / "shuffled.pt", digits)
    assert torch.equal(back.labels, s.labels)
    for c in range(digits.num_classes):  # same images per class (order within class may differ)
        got = {tuple(x.flatten().tolist()) for x in back.images[back.labels == c]}
        want = {tuple(x.flatten().tolist()) for x in s.images[s.labels == c]}
        assert got == want


BAD_FILES = {
    "not_torch": b"this is not a torch file",
    "wrong_layout": {"images": torch.zeros(10, 1, 8, 8)},
    "wrong_shape": {"data": [[torch.zeros(10, 3, 32, 32), torch.arange(10)]]},
    "label_out_of_range": {"data": [[torch.zeros(10, 1, 8, 8), torch.arange(10) + 1]]},
    "uneven_classes": {"data": [[torch.zeros(11, 1, 8, 8), torch.cat([torch.arange(10), torch.tensor([0])])]]},
    "float_labels": {"data": [[torch.zeros(10, 1, 8, 8), torch.arange(10).float()]]},
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_official_pt_raises_one_line_value_error_and_changes_nothing(digits, tmp_path, kind):
    path = tmp_path / f"{kind}.pt"
    content = BAD_FILES[kind]
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    before = path.read_bytes()
    with pytest.raises(ValueError) as err:
        load_official_pt(path, digits)
    assert "\n" not in str(err.value) and str(err.value)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_grid_image_size_and_nearest_neighbour_content():
    ipc, classes, h, w = 4, 3, 8, 8
    x = torch.rand(classes * ipc, 1, h, w, generator=torch.Generator().manual_seed(0))
    img = grid_image(x, ipc, scale=5)
    assert img.size == (ipc * w * 5 + (ipc - 1) * GAP, classes * h * 5 + (classes - 1) * GAP)
    arr = torch.from_numpy(np.array(img)).float() / 255  # (H, W, 3)
    # image 5 = class 1, column 1; its pixel (2, 3) fills a 5x5 block
    top, left = 1 * (h * 5 + GAP), 1 * (w * 5 + GAP)
    block = arr[top + 2 * 5: top + 3 * 5, left + 3 * 5: left + 4 * 5, 0]
    assert torch.allclose(block, torch.full_like(block, float(x[5, 0, 2, 3])), atol=1 / 255)
    assert grid_image(x, ipc).size[0] == ipc * w * 8 + (ipc - 1) * GAP  # 8x8 -> upscaled 8 times
    assert grid_image(x, ipc, class_names=["a", "b", "c"]).size[0] > grid_image(x, ipc).size[0]  # label column


def test_save_png_grid_unnormalises_and_clips(digits, tmp_path):
    s = digits_set(digits, ipc=2)
    save_png_grid(s, tmp_path / "g.png")
    img = Image.open(tmp_path / "g.png")
    ref = grid_image(s.denormalized(), 2, s.class_names)
    assert img.size == ref.size
    assert img.convert("RGB").tobytes() == ref.tobytes()
    bright = SyntheticSet(**{**s.__dict__, "images": torch.full_like(s.images, 1e3)})
    clipped = grid_image(bright.denormalized(), 2, scale=1)
    assert clipped.getpixel((0, 0)) == (255, 255, 255)  # far above the data range clips to white


def test_imagefolder_folder_and_zip(digits, tmp_path):
    s = digits_set(digits, ipc=2)
    save_imagefolder(s, tmp_path / "f")
    files = sorted(p.relative_to(tmp_path / "f").as_posix() for p in (tmp_path / "f").rglob("*.png"))
    assert len(files) == 20 and files[0] == "0_0/000.png"
    first = Image.open(tmp_path / "f" / files[0])
    assert first.size == (8, 8)
    expected = (s.denormalized()[0, 0] * 255).round().to(torch.uint8)
    assert torch.equal(torch.from_numpy(np.array(first)), expected)
    with zipfile.ZipFile(io.BytesIO(imagefolder_zip_bytes(s))) as z:
        assert sorted(z.namelist()) == files
        assert z.read(files[0]) == (tmp_path / "f" / files[0]).read_bytes()


def make_run(tmp_path, digits, snapshots: int) -> RunDir:
    run = RunDir.create(tmp_path, "dm_digits")
    run.write_config({"method": "dm", "ipc": 2, "config": {}, "seed": 0,
                      "dataset": {"name": "digits", "mean": list(digits.mean), "std": list(digits.std),
                                  "class_names": list(digits.class_names), "shape": list(digits.shape)}})
    gen = torch.Generator().manual_seed(0)
    for i in range(snapshots):
        run.save_snapshot(i * 10, torch.randn(20, 1, 8, 8, generator=gen))
    return run


def test_gif_has_one_frame_per_snapshot_and_caps_frames(tmp_path, digits):
    run = make_run(tmp_path, digits, snapshots=7)
    gif = Image.open(io.BytesIO(evolution_gif_bytes(run)))
    assert gif.n_frames == 7
    assert gif.size == grid_image(torch.zeros(20, 1, 8, 8), 2).size
    assert Image.open(io.BytesIO(evolution_gif_bytes(run, max_frames=4))).n_frames == 4


def test_gif_without_snapshots_is_a_value_error(tmp_path, digits):
    with pytest.raises(ValueError, match="no snapshots"):
        evolution_gif_bytes(make_run(tmp_path, digits, snapshots=0))


def test_synthetic_from_run_prefers_final_then_the_newest_of_checkpoint_and_snapshots(tmp_path, digits):
    run = make_run(tmp_path, digits, snapshots=2)
    last = run.load_snapshot(10)
    assert torch.equal(synthetic_from_run(run).images, last)
    ckpt = torch.zeros(20, 1, 8, 8)
    run.save_checkpoint({"images": ckpt, "iteration": 5})  # older than snapshot 10 (a crash): not used
    assert torch.equal(synthetic_from_run(run).images, last)
    run.save_checkpoint({"images": ckpt, "iteration": 12})
    s = synthetic_from_run(run)
    assert torch.equal(s.images, ckpt) and s.ipc == 2 and s.method == "dm"
    final = digits_set(digits, ipc=2)
    run.save_final(final)
    assert torch.equal(synthetic_from_run(run).images, final.images)
