"""Regenerate assets/real_vs_condensed.png: real digits (left) next to a DM-condensed set (right).

A real run (DM, cpu preset, digits, IPC 10, seed 0): `OMP_NUM_THREADS=1 PYTHONPATH=. python assets/make_hero.py`.
"""
from pathlib import Path

import torch
from PIL import Image

from dclab.data import load_dataset
from dclab.methods import get_method
from dclab.seeding import make_generator
from dclab.viz.grid import grid_image

OUT = Path(__file__).resolve().parent / "real_vs_condensed.png"


def main(iterations: int = 300, ipc: int = 10) -> None:
    data = load_dataset("digits")
    dm = get_method("dm")
    method = dm(data, ipc, dm.config_class.build("cpu", {"iterations": iterations}), seed=0, device="cpu")
    while not method.done:
        method.step()
    syn = method.synthetic_set()
    real = data.sample_per_class(ipc, make_generator(1)).reshape(-1, *data.shape)  # (classes*ipc, C, H, W)
    left = grid_image(data.denormalize(real), ipc, data.class_names, scale=4)
    right = grid_image(syn.denormalized(), ipc, None, scale=4)
    canvas = Image.new("RGB", (left.width + 16 + right.width, max(left.height, right.height)), "white")
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width + 16, 0))
    canvas.save(OUT)
    print(f"wrote {OUT} ({canvas.size[0]}x{canvas.size[1]})")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
