"""Fault injection: every file the CLI and the app read from a run folder (and data/caches), broken
in every way (missing, truncated, garbage, `{}`, wrong types, a pickle payload), under evaluate,
export, resume and each app page. Always: exit 0 or one `error:` line naming the file with exit 2
(or a rendered error in the app), the payload never runs, and a refused command changes nothing.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from dclab.cli.main import main as cli
from dclab.runs import RunDir

ROOT = Path(__file__).resolve().parents[1]
FILES = ["config.json", "status.json", "checkpoint.pt", "final.pt", "snapshot"]
CORRUPTIONS = ["missing", "truncated", "garbage", "empty_object", "wrong_types", "payload"]
MARKER_NAME = "PAYLOAD_RAN"


class Payload:
    """Unpickling this calls open(marker, 'w'): the file appears iff the payload ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def payload_bytes(marker: Path) -> bytes:
    return pickle.dumps({"images": Payload(marker), "iteration": 1})


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A real DM run on digits stopped at iteration 4 of 6: checkpoint, final.pt and snapshots."""
    out = tmp_path_factory.mktemp("runs")
    rc = cli(["condense", "--dataset", "digits", "--method", "dm", "--ipc", "1", "--iterations", "4",
              "--set", "batch_real=16", "--device", "cpu", "--out", str(out)])
    assert rc == 0
    (run,) = RunDir.list(out)
    cfg = run.read_config()
    cfg["config"]["iterations"] = 6  # so a resume has work left
    run.write_config(cfg)
    status = run.read_status()
    run.write_status("stopped", "stopped at iteration 4 of 6", iteration=4, total_iterations=6)
    assert status["status"] == "finished"
    return run.path


def target_file(run: Path, name: str) -> Path:
    return run / "snapshots" / "it_00000004.pt" if name == "snapshot" else run / name


def corrupt(path: Path, how: str, marker: Path) -> None:
    json_file = path.suffix == ".json"
    if how == "missing":
        path.unlink()
    elif how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"\x00\xffnot a file dclab wrote\x80" * 10)
    elif how == "empty_object":
        if json_file:
            path.write_text("{}")
        else:
            torch.save({}, path)
    elif how == "wrong_types":
        if json_file:
            path.write_text(json.dumps({"dataset": 5, "ipc": "two", "status": 3, "spec": []}))
        else:
            torch.save({"images": "not a tensor", "iteration": "four", "labels": 3}, path)
    elif how == "payload":
        path.write_bytes(payload_bytes(marker))
    else:
        raise AssertionError(how)


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture
def broken(pristine, tmp_path, request):
    """(run folder, file at fault, marker) with the file corrupted."""
    name, how = request.param
    run = tmp_path / "runs" / pristine.name
    shutil.copytree(pristine, run)
    marker = tmp_path / MARKER_NAME
    corrupt(target_file(run, name), how, marker)
    return run, target_file(run, name), marker


CASES = [(f, c) for f in FILES for c in CORRUPTIONS]


def check_cli(rc: int, err: str, at_fault: Path, marker: Path, before: dict, run: Path) -> None:
    assert not marker.exists(), "the pickle payload ran"
    assert rc in (0, 2), f"exit {rc}: {err}"
    if rc == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert "Traceback" not in err
        assert at_fault.name in lines[0] or at_fault.parent.name in lines[0], lines[0]
        assert digest(run) == before, "a refused command changed the run folder"


@pytest.mark.parametrize("broken", CASES, indirect=True, ids=[f"{f}-{c}" for f, c in CASES])
def test_export(broken, tmp_path, capsys):
    run, at_fault, marker = broken
    before = digest(run)
    rc = cli(["export", str(run), "--png", str(tmp_path / "g.png"), "--pt", str(tmp_path / "s.pt")])
    out, err = capsys.readouterr()
    check_cli(rc, err, at_fault, marker, before, run)
    if rc == 0:
        assert "images: " in out and (tmp_path / "g.png").stat().st_size > 0
        saved = torch.load(tmp_path / "s.pt", weights_only=True)
        assert torch.isfinite(saved["data"][0][0]).all()


@pytest.mark.parametrize("broken", CASES, indirect=True, ids=[f"{f}-{c}" for f, c in CASES])
def test_evaluate(broken, capsys):
    run, at_fault, marker = broken
    before = digest(run)
    rc = cli(["evaluate", str(run), "--protocol", "quick", "--models", "1", "--epochs", "1", "--device", "cpu",
              "--json"])
    out, err = capsys.readouterr()
    check_cli(rc, err, at_fault, marker, before, run)
    if rc == 0:
        assert 0.0 <= json.loads(out)["mean"] <= 1.0


@pytest.mark.parametrize("broken", CASES, indirect=True, ids=[f"{f}-{c}" for f, c in CASES])
def test_resume(broken, capsys):
    run, at_fault, marker = broken
    before = digest(run)
    rc = cli(["condense", "--resume", str(run), "--out", str(run.parent)])
    out, err = capsys.readouterr()
    check_cli(rc, err, at_fault, marker, before, run)
    if rc == 0:
        r = RunDir(run)
        assert r.read_status()["status"] == "finished"
        its = [m["iteration"] for m in r.read_metrics() if "kind" not in m]
        assert its == sorted(set(its)) and its[-1] == 6  # no duplicated or lost iterations


# ---- the app: every page renders with the broken run present; the Runs page can delete it -------
PAGES = ["condense", "compare", "multisize", "evaluate", "runs"]
APP_CASES = [(f, c) for f in FILES for c in ("truncated", "wrong_types", "payload")]


@pytest.fixture
def app_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DCLAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("DCLAB_CACHE", str(tmp_path / "cache"))
    yield
    from ui.state import OPEN_REGISTRIES

    for registry in list(OPEN_REGISTRIES):
        registry.shutdown(timeout=30)
    st.cache_resource.clear()


def add_good_run(pristine: Path, runs: Path) -> None:
    shutil.copytree(pristine, runs / (pristine.name + "-good"))  # compare needs two runs


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("broken", APP_CASES, indirect=True, ids=[f"{f}-{c}" for f, c in APP_CASES])
def test_every_page_renders_with_a_broken_run(broken, page, app_env, pristine):
    run, _, marker = broken
    add_good_run(pristine, run.parent)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(f"pages/{page}.py").run()
    if page == "runs":  # select the broken run, as a user would
        at.selectbox(key="runs_select").set_value(run.name).run()
    elif page == "condense":
        at.selectbox(key="view_run_0").set_value(run.name).run()
    assert not at.exception, at.exception
    assert not marker.exists(), "the pickle payload ran"


@pytest.mark.parametrize("broken", [("config.json", "truncated"), ("status.json", "garbage")], indirect=True,
                         ids=["config-truncated", "status-garbage"])
def test_runs_page_lists_a_broken_run_with_its_error_and_deletes_it(broken, app_env):
    run, at_fault, _ = broken
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/runs.py").run()
    at.selectbox(key="runs_select").set_value(run.name).run()
    assert not at.exception
    assert any(at_fault.name in w.value for w in at.warning), [w.value for w in at.warning]
    at.checkbox(key="confirm_delete").check().run()
    at.button(key="delete").click().run()
    assert not at.exception and not run.exists()


# ---- data roots, caches and expert buffers -------------------------------------------------------------
def test_cifar_batch_payload_does_not_run(tmp_path):
    from dclab.data.errors import DatasetUnavailableError
    from dclab.data.torchvision_sets import _cifar_arrays

    marker = tmp_path / MARKER_NAME
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    bad = folder / "data_batch_1"
    bad.write_bytes(pickle.dumps({"data": Payload(marker), "labels": [0]}, protocol=2))
    with pytest.raises(DatasetUnavailableError, match="data_batch_1"):
        _cifar_arrays([bad], "labels")
    assert not marker.exists()


def test_cifar_batch_round_trip_and_malformed_batches(tmp_path):
    import numpy as np

    from dclab.data.errors import DatasetUnavailableError
    from dclab.data.torchvision_sets import _cifar_arrays

    good = tmp_path / "good"
    good.write_bytes(pickle.dumps({"data": np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072),
                                   "labels": [3, 7]}, protocol=2))
    x, y = _cifar_arrays([good], "labels")
    assert x.shape == (2, 3, 32, 32) and y.tolist() == [3, 7] and int(x[1, 0, 0, 0]) == 3072 % 256
    for i, blob in enumerate([b"junk", pickle.dumps([1, 2]), pickle.dumps({"labels": [0]}),
                              pickle.dumps({"data": np.zeros((2, 5), np.uint8), "labels": [0, 1]}),
                              pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0]})]):
        p = tmp_path / f"bad{i}"
        p.write_bytes(blob)
        with pytest.raises(DatasetUnavailableError, match=f"bad{i}"):
            _cifar_arrays([p], "labels")


def test_cifar_data_root_with_a_payload_fails_in_one_line_via_the_cli(tmp_path, capsys):
    marker = tmp_path / MARKER_NAME
    folder = tmp_path / "root" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (folder / name).write_bytes(pickle.dumps({"data": Payload(marker)}, protocol=2))
    rc = cli(["condense", "--dataset", "cifar10", "--method", "dm", "--ipc", "1", "--iterations", "1",
              "--data-root", str(tmp_path / "root"), "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "data_batch_1" in err, err
    assert not marker.exists() and not (tmp_path / "runs").exists()


def test_dataset_cache_payload_does_not_run(tmp_path):
    from dclab.data.cache import load_cached

    marker = tmp_path / MARKER_NAME
    path = tmp_path / "cache.pt"
    path.write_bytes(payload_bytes(marker))
    assert load_cached(path, None) is None  # refused; the caller rebuilds it
    assert not marker.exists()


def test_expert_buffer_payload_does_not_run(tmp_path, digits):
    from dclab.methods._trajectories import ExpertSpec, build_or_load_buffer

    marker = tmp_path / MARKER_NAME
    spec = ExpertSpec()
    path = tmp_path / f"{digits.name}-{spec.key(digits)}.pt"
    path.write_bytes(pickle.dumps({"trajectories": Payload(marker)}))
    with pytest.raises(Exception):  # noqa: B017 - refused by weights_only (its type is torch's business)
        build_or_load_buffer(digits, spec, cache_dir=tmp_path)
    assert not marker.exists()


def test_imported_pt_payload_and_nan_are_refused(tmp_path, digits):
    from dclab.runs.export import load_official_pt

    marker = tmp_path / MARKER_NAME
    p = tmp_path / "syn.pt"
    p.write_bytes(pickle.dumps({"data": [[Payload(marker), None]]}))
    with pytest.raises(ValueError, match="syn.pt"):
        load_official_pt(p, digits)
    assert not marker.exists()
    images = torch.full((10, *digits.shape), float("nan"))
    torch.save({"data": [[images, torch.arange(10)]]}, p)
    with pytest.raises(ValueError, match="NaN"):
        load_official_pt(p, digits)


# ---- user errors on the command line: one line, exit 2, no run folder left ---------------------------
def _long_label() -> str:
    return "x" * 300


USER_ERRORS = {
    "out-is-a-file": (["--out", "{file}"], "{file}"),
    "out-under-a-file": (["--out", "{file}/sub"], "{file}/sub"),
    "label-too-long": (["--out", "{runs}", "--label", _long_label()], "label"),
    "unknown-net": (["--out", "{runs}", "--set", "net=nope"], "nope"),
    "bad-dsa-strategy": (["--out", "{runs}", "--set", "dsa_strategy=bogus"], "bogus"),
    "nan-lr": (["--out", "{runs}", "--set", "lr_img=nan"], "lr_img"),
    "inf-lr": (["--out", "{runs}", "--set", "lr_img=inf"], "lr_img"),
}


@pytest.mark.parametrize("case", list(USER_ERRORS))
def test_condense_user_errors_are_one_line_before_any_run_folder(case, tmp_path, capsys):
    file = tmp_path / "a_file"
    file.write_text("")
    args, named = USER_ERRORS[case]
    fill = {"file": str(file), "runs": str(tmp_path / "runs")}
    rc = cli(["condense", "--dataset", "digits", "--method", "dm", "--ipc", "1", "--iterations", "2",
              *[a.format(**fill) for a in args]])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert named.format(**fill) in lines[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_evaluate_refuses_nan_and_export_refuses_a_folder(pristine, tmp_path, capsys):
    rc = cli(["evaluate", str(pristine), "--lr", "nan", "--json"])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip() == "error: lr must be a finite number, got nan"
    rc = cli(["export", str(pristine), "--png", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip() == f"error: --png {tmp_path} is a folder; give a file name"


def test_diverging_images_fail_the_run_and_keep_the_last_good_checkpoint(tmp_path, capsys):
    rc = cli(["condense", "--dataset", "digits", "--method", "dm", "--ipc", "1", "--iterations", "3",
              "--set", "lr_img=1e12", "--set", "batch_real=16", "--device", "cpu", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1 and "diverged at iteration 1" in err
    (run,) = RunDir.list(tmp_path)
    assert run.read_status()["status"] == "failed"
    state = run.load_checkpoint()
    assert state["iteration"] == 0 and state["images"].abs().max() < 10  # the good start is kept


# ---- image folders: a corrupt image names its file; empty or single-class splits are refused -----------
def _image_folder(root: Path, classes: dict[str, dict[str, int]]) -> Path:
    from PIL import Image

    for split, counts in classes.items():
        for name, n in counts.items():
            d = root / split / name
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.new("RGB", (8, 8), (i * 40 % 255, 0, 0)).save(d / f"{i}.png")
    return root


@pytest.mark.parametrize("fault", ["zero-bytes", "truncated", "garbage", "empty-test", "one-class"])
def test_image_folder_faults_are_one_line(fault, tmp_path):
    from dclab.data import load_dataset
    from dclab.data.errors import DatasetUnavailableError

    two = {"a": 3, "b": 3}
    one = {"a": 3}
    root = _image_folder(tmp_path / "imgs", {"train": one if fault == "one-class" else two,
                                             "test": {} if fault == "empty-test" else
                                             one if fault == "one-class" else two})
    if fault == "empty-test":
        (root / "test").mkdir(exist_ok=True)
    bad = root / "train" / "b" / "1.png"
    if fault == "zero-bytes":
        bad.write_bytes(b"")
    elif fault == "truncated":
        bad.write_bytes(bad.read_bytes()[:20])
    elif fault == "garbage":
        bad.write_bytes(b"not an image" * 5)
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset(f"imagefolder:{root}", root=tmp_path / "cache")
    msg = str(info.value)
    assert "\n" not in msg
    if fault in ("zero-bytes", "truncated", "garbage"):
        assert str(bad) in msg
    else:
        assert "at least 2" in msg and ("test" in msg if fault == "empty-test" else "train" in msg)
