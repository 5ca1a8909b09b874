"""`python -m dclab condense` / `methods` with a real method (DM on digits, tiny settings)."""
from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import torch

from dclab.cli.main import main
from dclab.cli.progress import ProgressBar, format_duration
from dclab.jobs import JobManager, RunSpec
from dclab.methods import get_method, list_methods
from dclab.runs import RunDir

TINY = ["--dataset", "digits", "--method", "dm", "--ipc", "2", "--set", "batch_real=32", "--set", "width=16"]


def condense(tmp_path: Path, *extra: str) -> list[str]:
    return ["condense", *TINY, "--out", str(tmp_path / "runs"), *extra]


def test_condense_writes_a_run_folder_that_evaluate_reads(tmp_path, capsys):
    assert main(condense(tmp_path, "--iterations", "6", "--seed", "1")) == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    run = RunDir.open(lines[-1])
    # every config value is printed first, with where it came from
    config = run.read_config()["config"]
    for key in config:
        assert any(line.strip().startswith(key) for line in lines), key
    assert "preset cpu" in out or "preset (none)" in out
    assert any(line.strip().startswith("batch_real") and "[set]" in line for line in lines)
    assert any(line.strip().startswith("iterations") and "[set]" in line for line in lines)
    assert "it/s" in err and "ETA" in err and "6/6" in err
    assert run.read_status()["status"] == "finished" and run.has_final() and run.has_checkpoint()
    assert config["iterations"] == 6 and run.read_config()["seed"] == 1

    assert main(["evaluate", str(run.path), "--json", "--protocol", "quick", "--models", "1", "--epochs", "2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.0 <= result["mean"] <= 1.0 and result["method"] == "dm" and result["ipc"] == 2


def test_condense_eval_prints_accuracy_with_its_protocol(tmp_path, capsys):
    assert main(condense(tmp_path, "--iterations", "3", "--eval", "--eval-preset", "quick")) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("accuracy"))
    assert "K=2" in line and "30 ep" in line and "%" in line
    run = RunDir.open(out.strip().splitlines()[-1])
    evals = [r for r in run.read_metrics() if r.get("kind") == "eval"]
    assert len(evals) == 1 and evals[0]["iteration"] == 3 and len(evals[0]["accs"]) == 2


def test_condense_eval_every_reports_periodic_evals_and_reuses_the_last(tmp_path, capsys):
    argv = condense(tmp_path, "--iterations", "4", "--eval-every", "2", "--eval")
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "eval at iteration 2:" in err and "evaluation every 2 it" in out
    run = RunDir.open(out.strip().splitlines()[-1])
    evals = [r for r in run.read_metrics() if r.get("kind") == "eval"]
    assert [r["iteration"] for r in evals] == [2, 4], "the final eval reuses the one at the last iteration"
    assert f"{100 * evals[-1]['mean']:.2f}" in next(l for l in out.splitlines() if l.startswith("accuracy"))


@pytest.mark.parametrize(
    "args",
    [
        ["--method", "nope"],
        ["--ipc", "100000"],
        ["--set", "no_such_setting=1"],
        ["--set", "lr_img=fast"],
        ["--set", "lr_img"],
        ["--preset", "nope"],
        ["--dataset", "no-such-data"],
        ["--device", "banana"],
        ["--ipc", "two"],
        ["--resume", "no/such/run"],
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, args):
    rc = run_cli(condense(tmp_path, *args))
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert RunDir.list(tmp_path / "runs") == [], "no run folder for rejected input"


def run_cli(argv: list[str]) -> int:
    """main() or, for argparse usage errors, the SystemExit code."""
    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code)


def test_nan_setting_is_refused_before_a_run_folder(tmp_path, capsys):
    """(Was: accepted, then the run failed at iteration 1.) The runtime guard for images that blow
    up is tested in test_faults.test_diverging_images_fail_the_run_and_keep_the_last_good_checkpoint."""
    assert main(condense(tmp_path, "--iterations", "5", "--set", "lr_img=nan")) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: lr_img must be a finite number, got nan"
    assert RunDir.list(tmp_path / "runs") == []


def test_ctrl_c_stops_cleanly_keeping_checkpoint_and_final(tmp_path, capsys):
    """A real SIGINT to this process once the run has made progress: exit 130, run kept."""
    runs = tmp_path / "runs"

    def interrupt_when_running() -> None:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            found = RunDir.list(runs)
            if found and any(r.get("iteration", 0) >= 2 for r in found[0].read_metrics()):
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    threading.Thread(target=interrupt_when_running, daemon=True).start()
    assert main(condense(tmp_path, "--iterations", "1000000")) == 130
    out, err = capsys.readouterr()
    assert "stopping after the current step" in err and "Traceback" not in err
    run = RunDir.open(out.strip().splitlines()[-1])
    assert run.read_status()["status"] == "stopped"
    ckpt = run.load_checkpoint()
    assert ckpt["iteration"] >= 2 and torch.equal(run.load_final().images, ckpt["images"])


def test_resume_continues_a_stopped_run_to_the_end(tmp_path, capsys):
    manager = JobManager(tmp_path / "runs")
    job = manager.submit(RunSpec("digits", "dm", 2, iterations=8, overrides={"batch_real": "32", "width": "16"}))
    job.pause()  # takes effect before (or right after) the first step
    assert job.run_dir.path.is_dir()
    job.stop()
    assert job.wait(120) and job.status == "stopped" and job.snapshot().iteration < 8
    assert main(["condense", "--resume", str(job.run_dir.path), "--out", str(tmp_path / "runs")]) == 0
    run = RunDir.open(capsys.readouterr().out.strip().splitlines()[-1])
    assert run.path == job.run_dir.path and run.read_status()["status"] == "finished"
    assert [r["iteration"] for r in run.read_metrics()] == list(range(1, 9))
    assert run_cli(["condense", "--resume", str(run.path), "--out", str(tmp_path / "runs")]) == 2  # finished


@pytest.mark.parametrize("name", list_methods())
def test_methods_lists_every_setting_with_default_help_and_presets(capsys, name):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    block = next(b for b in out.split("\n\n") if b.split(":")[0].strip() == name)
    for f in get_method(name).config_class.fields_info():
        line = next(l for l in block.splitlines() if l.strip().startswith(f.name + " "))
        assert repr(f.default) in line and f.help[:20] in line
    assert main(["methods", name, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)[0]
    assert info["name"] == name and set(info["presets"]) == set(get_method(name).config_class.PRESETS)
    assert {f["name"] for f in info["fields"]} == {f.name for f in get_method(name).config_class.fields_info()}


def test_methods_unknown_name_is_a_user_error(capsys):
    assert main(["methods", "nope"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown method")


def test_progress_bar_renders_rate_eta_and_suffix():
    stream = io.StringIO()
    bar = ProgressBar(10, label="x", stream=stream)
    assert bar.render(5, rate=1.25, suffix="loss 0.5") == f"x [{'#' * 14}{'.' * 14}] 5/10 1.25 it/s ETA 0:04 loss 0.5"
    bar.update(10, rate=1.0, force=True)
    assert "10/10" in stream.getvalue() and stream.getvalue().endswith("\n")  # not a tty: whole lines
    assert format_duration(3725) == "1:02:05" and format_duration(None) == "?"
