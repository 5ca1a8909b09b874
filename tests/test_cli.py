"""`python -m dclab` end to end, in subprocesses: JSON evaluation, export, datasets, one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from dclab.coresets import select_coreset
from dclab.data import DATASETS
from dclab.runs import RunDir
from dclab.runs.export import load_official_pt
from dclab.viz.grid import grid_image

REPO = Path(__file__).resolve().parents[1]


def dclab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "dclab", *map(str, args)], check=False, capture_output=True, text=True,
                          env=env, cwd=cwd or REPO, timeout=300)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, digits) -> RunDir:
    """A run folder holding a random digits coreset (IPC 2) as final.pt and three snapshots."""
    run = RunDir.create(tmp_path_factory.mktemp("runs"), "random_digits")
    s = select_coreset("random", digits, 2, seed=0)
    run.write_config({"method": "random", "ipc": 2, "seed": 0, "config": {},
                      "dataset": {"name": "digits", "mean": list(digits.mean), "std": list(digits.std),
                                  "class_names": list(digits.class_names), "shape": list(digits.shape)}})
    for i in range(3):
        run.save_snapshot(i, s.images + i)
    run.save_final(s)
    return run


def test_evaluate_coreset_json(tmp_path):
    r = dclab("evaluate", "--coreset", "random", "--dataset", "digits", "--ipc", "2", "--models", "2",
              "--epochs", "3", "--device", "cpu", "--json")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1  # exactly one JSON object
    out = json.loads(lines[0])
    assert len(out["accs"]) == 2 and all(0.0 <= a <= 1.0 for a in out["accs"])
    assert out["mean"] == pytest.approx(sum(out["accs"]) / 2)
    assert out["std"] >= 0 and out["method"] == "random" and out["ipc"] == 2
    assert out["protocol"]["epochs"] == 3 and out["protocol"]["models"] == 2
    assert "K=2" in out["protocol_text"] and "3 ep" in out["protocol_text"]
    assert r.stderr == ""  # no progress bar under --json


def test_evaluate_run_dir_human_readable(finished_run):
    r = dclab("evaluate", finished_run.path, "--protocol", "quick", "--epochs", "2", "--models", "1")
    assert r.returncode == 0, r.stderr
    assert "±" in r.stdout and "K=1, 2 ep" in r.stdout and "random on digits, IPC 2" in r.stdout
    assert "evaluating" in r.stderr  # the progress bar goes to stderr


def test_export_writes_every_format(finished_run, tmp_path):
    png, pt, folder, gif = tmp_path / "g.png", tmp_path / "s.pt", tmp_path / "imgs", tmp_path / "e.gif"
    r = dclab("export", finished_run.path, "--png", png, "--pt", pt, "--folder", folder, "--gif", gif)
    assert r.returncode == 0, r.stderr
    final = finished_run.load_final()
    from dclab.data import load_dataset

    assert torch.equal(load_official_pt(pt, load_dataset("digits")).images, final.images)
    assert Image.open(png).size == grid_image(final.denormalized(), 2, final.class_names).size
    assert len(list(folder.rglob("*.png"))) == 20
    assert Image.open(gif).n_frames == 3


def test_datasets_lists_digits_as_available():
    r = dclab("datasets", "--json")
    assert r.returncode == 0, r.stderr
    rows = {d["name"]: d for d in json.loads(r.stdout)}
    assert set(rows) == set(DATASETS.names()) and rows["digits"]["available"] is True


ERROR_CASES = {  # {empty}: an existing folder that is not a run; {tmp}: a scratch folder
    "unknown data set": ["evaluate", "--coreset", "random", "--dataset", "nope", "--ipc", "1"],
    "unknown coreset": ["evaluate", "--coreset", "nope", "--dataset", "digits", "--ipc", "1"],
    "ipc larger than a class": ["evaluate", "--coreset", "random", "--dataset", "digits", "--ipc", "100000"],
    "bad preset": ["evaluate", "--coreset", "random", "--dataset", "digits", "--ipc", "1", "--protocol", "nope"],
    "not a run dir": ["evaluate", "{empty}"],
    "missing run dir": ["export", "{tmp}/missing", "--png", "{tmp}/x.png"],
    "bad flag value": ["evaluate", "--coreset", "random", "--dataset", "digits", "--ipc", "one"],
}


@pytest.fixture(scope="module")
def error_runs(tmp_path_factory) -> dict[str, tuple[int, str, str]]:
    """Every error case run at once (each start costs mostly the torch import): name -> (rc, out, err)."""
    tmp = tmp_path_factory.mktemp("errors")
    (tmp / "empty").mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "dclab", *[a.format(empty=tmp / "empty", tmp=tmp) for a in args]],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
        for name, args in ERROR_CASES.items()
    }
    out = {}
    for name, p in procs.items():
        stdout, stderr = p.communicate(timeout=300)
        out[name] = (p.returncode, stdout, stderr)
    assert not (tmp / "x.png").exists()
    return out


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_user_errors_are_one_line_and_exit_2(case, error_runs):
    rc, stdout, stderr = error_runs[case]
    assert rc == 2, (case, stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr and stdout == ""
