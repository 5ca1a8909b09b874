"""One writer per run across processes, and recovery after kill -9 / SIGTERM, with real `condense`
processes: a second writer (CLI resume, JobManager.resume, Delete) is refused with the holder named;
a dead writer's run reads "interrupted" and resumes from the CLI and from the app's Runs page."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dclab.jobs import JobManager
from dclab.runs import RunDir
from dclab.runs.lock import RunBusyError, is_held

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
LONG = ["--dataset", "digits", "--method", "dm", "--ipc", "1", "--iterations", "1000", "--set",
        "batch_real=16", "--device", "cpu"]


def dclab_bg(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dclab", *args], env=ENV, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(ok, timeout: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ok():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def running_run(root: Path, pid: int, min_iteration: int = 1) -> RunDir:
    """The run that process `pid` writes under root, once it has a checkpoint past min_iteration."""
    def ready() -> bool:
        runs = RunDir.list(root)
        if not runs:
            return False
        st_ = runs[0].read_status()
        return st_.get("owner_pid") == pid and st_.get("status") == "running" and \
            st_.get("iteration", 0) >= min_iteration
    wait_for(ready, what=f"process {pid} to run")
    return RunDir.list(root)[0]


def iterations_logged(run: RunDir) -> list[int]:
    return [int(m["iteration"]) for m in run.read_metrics() if "kind" not in m]


def stop(proc: subprocess.Popen, sig: int) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_second_writer_is_refused_with_the_holder_named(tmp_path):
    proc = dclab_bg("condense", *LONG, "--out", str(tmp_path))
    try:
        run = running_run(tmp_path, proc.pid)
        assert is_held(run.path) and run.status() == "running"
        with pytest.raises(RunBusyError, match=f"pid {proc.pid}"):
            JobManager(tmp_path).resume(run.path)
        with pytest.raises(RunBusyError, match=f"pid {proc.pid}"):
            run.delete()
        second = subprocess.run([sys.executable, "-m", "dclab", "condense", "--resume", str(run.path)],
                                env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=300)
        lines = second.stderr.strip().splitlines()
        assert second.returncode == 2 and len(lines) == 1 and f"pid {proc.pid}" in lines[0], second.stderr
        beat = run.read_status()["heartbeat"]
        wait_for(lambda: run.read_status()["heartbeat"] > beat, timeout=30, what="a heartbeat")
    finally:
        rc = stop(proc, signal.SIGINT)
    assert rc == 130 and run.read_status()["status"] == "stopped" and run.path.is_dir()
    its = iterations_logged(run)
    assert its == list(range(1, its[-1] + 1))  # one writer: no duplicate or lost iterations


def test_sigterm_stops_like_ctrl_c(tmp_path):
    proc = dclab_bg("condense", *LONG, "--out", str(tmp_path))
    run = running_run(tmp_path, proc.pid)
    rc = stop(proc, signal.SIGTERM)
    assert rc == 130, proc.stderr.read()
    status = run.read_status()
    assert status["status"] == "stopped" and run.status() == "stopped"
    assert run.load_checkpoint()["iteration"] == status["iteration"] == iterations_logged(run)[-1]
    assert run.has_final() and not is_held(run.path)


@pytest.fixture
def app_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("DCLAB_RUNS", str(tmp_path))
    monkeypatch.setenv("DCLAB_CACHE", str(tmp_path / "cache"))
    yield tmp_path
    from ui.state import OPEN_REGISTRIES

    for registry in list(OPEN_REGISTRIES):
        registry.shutdown(timeout=60)
    st.cache_resource.clear()


def test_kill_9_then_resume_from_the_cli_and_from_the_app(app_runs):
    proc = dclab_bg("condense", *LONG, "--out", str(app_runs))
    run = running_run(app_runs, proc.pid, min_iteration=5)
    rc = stop(proc, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    assert run.read_status()["status"] == "running"  # what the dead process left
    assert run.status() == "interrupted" and not is_held(run.path)

    # the CLI resumes it (then SIGTERM stops that one cleanly)
    crashed_at = run.load_checkpoint()["iteration"]
    cli = dclab_bg("condense", "--resume", str(run.path))
    running_run(app_runs, cli.pid, min_iteration=crashed_at + 2)
    assert stop(cli, signal.SIGTERM) == 130
    assert run.status() == "stopped"
    its = iterations_logged(run)
    assert its == list(range(1, its[-1] + 1)) and its[-1] > crashed_at

    # kill -9 again; the Runs page shows it interrupted and resumes it
    again = dclab_bg("condense", "--resume", str(run.path))
    running_run(app_runs, again.pid, min_iteration=its[-1] + 2)
    stop(again, signal.SIGKILL)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/runs.py").run()
    at.selectbox(key="runs_select").set_value(run.run_id).run()
    assert any("interrupted" in w.value for w in at.warning), [w.value for w in at.warning]
    at.button(key="runs_resume").click().run()
    assert not at.exception, at.exception
    from ui.state import job_manager

    job = job_manager().get(run.run_id)
    assert job is not None
    before = run.load_checkpoint()["iteration"]
    wait_for(lambda: job.snapshot().iteration >= before + 2, what="the app's job to step")
    assert is_held(run.path)
    job.stop()
    assert job.wait(120) and job.status == "stopped"
    its = iterations_logged(run)
    assert its == list(range(1, its[-1] + 1)) and run.status() == "stopped" and not is_held(run.path)
