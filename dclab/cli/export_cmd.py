"""`export`: write a run's images as a PNG grid, an official .pt, an ImageFolder and/or a GIF."""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "export"
HELP = "export a run's images (PNG grid, official DC .pt, ImageFolder, evolution GIF)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="run folder")
    parser.add_argument("--png", help="PNG grid file, one row per class")
    parser.add_argument("--pt", help="official DC format .pt file {'data': [[images, labels]]}")
    parser.add_argument("--folder", help="ImageFolder directory (<class>/<i>.png)")
    parser.add_argument("--gif", help="animated GIF of the run's snapshots")


def run(args: argparse.Namespace) -> int:
    from dclab.files import atomic_write
    from dclab.runs import export
    from dclab.runs.reader import run_images
    from dclab.runs.store import RunDir

    if not any((args.png, args.pt, args.folder, args.gif)):
        raise ValueError("nothing to export: give --png, --pt, --folder and/or --gif")
    for flag in ("png", "pt", "gif"):
        target = getattr(args, flag)
        if target and Path(target).is_dir():
            raise ValueError(f"--{flag} {target} is a folder; give a file name")
    run_dir = RunDir.open(args.run_dir)
    synthetic, source = run_images(run_dir)
    written = []
    if args.gif:  # first, so a run without snapshots fails before anything is written
        gif = export.evolution_gif_bytes(run_dir)
        atomic_write(Path(args.gif), lambda p: p.write_bytes(gif))
        written.append(args.gif)
    if args.png:
        export.save_png_grid(synthetic, args.png)
        written.append(args.png)
    if args.pt:
        export.save_official_pt(synthetic, args.pt)
        written.append(args.pt)
    if args.folder:
        export.save_imagefolder(synthetic, args.folder)
        written.append(args.folder + "/")
    print(f"{synthetic.method} {synthetic.dataset} IPC {synthetic.ipc}, images: {source} -> {', '.join(written)}")
    return 0
