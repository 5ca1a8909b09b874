"""torch.distributed under torchrun (gloo, CPU): 2 ranks compute what one process computes.

Each test launches `python -m torch.distributed.run --standalone --nproc-per-node 2 -m dclab ...`
(real processes, real gloo collectives) on digits with tiny settings, and compares with the same
run computed here in one process (no process group). Class sharding keeps every random draw of a
single process (all ranks draw for all classes; each computes the losses of its own classes), so
with the per-class loop (the CPU default) the images are bit-identical: a class's gradient is
summed with exact zeros from the other ranks. The batched path (`batched`, the GPU default) splits
the batches differently, so there the test allows float rounding (atol 1e-5).
Every subprocess has a timeout: a hang fails the test instead of blocking CI.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dclab.cli.main import main
from dclab.distributed import SPLITS
from dclab.jobs import JobManager
from dclab.jobs.spec import RunSpec, prepare
from dclab.methods._base import CondensationMethod
from dclab.methods._trajectories import build_or_load_buffer
from dclab.runs import RunDir

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 150  # per launch: generous for 2 loaded cores, finite so a hang fails
DIGITS_IMAGE_BYTES = 1 * 8 * 8 * 4  # one float32 digits image
DM_ARGS = ["--dataset", "digits", "--method", "dm", "--ipc", "2", "--device", "cpu", "--set", "batch_real=16"]
LONG_RUN = 60  # iterations of the runs stopped or killed midway (a checkpoint every 3)


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "OMP_NUM_THREADS": "1", "DCLAB_COLLECTIVE_TIMEOUT": "20", "PYTHONPATH": path}


def _torchrun_cmd(*args: str, nproc: int = 2) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            "-m", "dclab", *args]


def torchrun(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(_torchrun_cmd(*args), cwd=REPO, env=_env(), capture_output=True, text=True,
                          timeout=TIMEOUT_S)


def run_folder(out: Path) -> RunDir:
    (path,) = [p for p in out.iterdir() if (p / "config.json").is_file()]
    return RunDir(path)


def one_process_images(run: RunDir) -> torch.Tensor:
    """The run's settings condensed here, in one process, from scratch to the end."""
    config = run.read_config()
    method = prepare(RunSpec.from_dict(config["spec"]), stored=config).build_method()
    while not method.done:
        method.step()
    return method.images.detach()


def wait_for_iteration(run_root: Path, proc: subprocess.Popen, iteration: int) -> RunDir:
    """Poll status.json until the run passed `iteration` (the launch must still be alive)."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the launch ended early: {proc.communicate()[1][-2000:]}"
        runs = [p for p in run_root.iterdir() if (p / "status.json").is_file()] if run_root.is_dir() else []
        if runs:
            status = RunDir(runs[0]).read_status()
            if status.get("status") == "running" and status.get("iteration", 0) >= iteration:
                return RunDir(runs[0])
        time.sleep(0.05)
    raise AssertionError(f"the run did not reach iteration {iteration}")


def worker_pid(agent_pid: int, rank: int) -> int:
    """The pid of torchrun's worker process with RANK=rank (a child of the agent)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            env = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == agent_pid and f"RANK={rank}".encode() in env:
            return int(entry.name)
    raise AssertionError(f"no worker with RANK={rank} under pid {agent_pid}")


@pytest.mark.parametrize("batched", ["false", "true"])
def test_dm_two_ranks_give_the_images_of_one_process(tmp_path: Path, batched: str) -> None:
    res = torchrun("condense", *DM_ARGS, "--iterations", "6", "--set", f"batched={batched}", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr[-3000:]
    run = run_folder(tmp_path)
    final = run.load_final().images
    expected = one_process_images(run)
    if batched == "false":  # per-class loop: the same ops on the same numbers, gradients + exact zeros
        assert torch.equal(final, expected)
    else:
        torch.testing.assert_close(final, expected, atol=1e-5, rtol=1e-5)
    status = run.read_status()
    assert status["status"] == "finished" and status["world_size"] == 2 and status["backend"] == "gloo"
    # communication per step, counted by the collective helper = the tensor sizes: the image
    # gradient (20 images), the per-class losses (10 float32) and the stop agreement (1 int32)
    steps = [r for r in run.read_metrics() if "kind" not in r]
    assert len(steps) == 6
    expected_bytes = 20 * DIGITS_IMAGE_BYTES + 10 * 4 + 4
    assert [r["comm_bytes"] for r in steps[1:]] == [expected_bytes] * 5
    assert [r["comm_calls"] for r in steps[1:]] == [3] * 5
    assert "torchrun: 2 ranks (gloo)" in res.stdout


SPLIT_RUNS = {
    # DC: the classes' gradients split; the inner training of the net on the whole synthetic set runs
    # on every rank, on the same (summed-gradient) images
    "dc": ["--method", "dc", "--ipc", "2", "--iterations", "2", "--set", "outer_loop=2", "--set", "inner_loop=2"],
    # DSA: as DC, the siamese augmentation drawn alike on every rank
    "dsa": ["--method", "dsa", "--ipc", "2", "--iterations", "2", "--set", "outer_loop=2", "--set", "inner_loop=2"],
    # MDC on DM: the selection signal F(n) is measured over all classes on every rank
    "mdc": ["--method", "mdc", "--preset", "cpu_dm", "--ipc", "3", "--iterations", "5", "--set", "delta_t=2",
            "--set", "batch_real=16"],
}


@pytest.mark.parametrize("method", sorted(SPLIT_RUNS))
def test_dc_dsa_and_mdc_two_ranks_give_the_images_of_one_process(tmp_path: Path, method: str) -> None:
    res = torchrun("condense", "--dataset", "digits", "--device", "cpu", *SPLIT_RUNS[method], "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr[-3000:]
    run = run_folder(tmp_path)
    assert torch.equal(run.load_final().images, one_process_images(run))
    if method == "mdc":  # the subset selection happened, identically (its record is rank 0's)
        assert [r["selected"] for r in run.read_metrics() if "selected" in r][:1] == [1.0]


BATCH_RUNS = {  # tiny runs of the methods that split the batch (digits, IPC 2, 3 iterations)
    "kip": ["--method", "kip", "--set", "batch_real=8"],  # 80 targets: 40 rows per rank
    "dd": ["--method", "dd", "--preset", "cpu", "--set", "batch_real=8"],  # 80 real rows, T = 4 steps
    # 20 synthetic images per student step, 10 per rank; 2 experts, one trained by each rank
    "mtt": ["--method", "mtt", "--preset", "cpu", "--set", "num_experts=2", "--set", "max_start_epoch=2",
            "--set", "syn_steps=3"],
}


def test_every_method_that_runs_on_several_ranks_is_tested_so() -> None:
    """A registered method that declares a split must have a 2-rank test here (else it fails)."""
    from dclab.methods import get_method, list_methods
    splits = {m: {get_method(m).rank_split(get_method(m).config_class.build(preset))
                  for preset in (None, *get_method(m).config_class.PRESETS)} for m in list_methods()}
    assert all(kinds <= {*SPLITS, None} for kinds in splits.values()), splits
    assert {m for m, kinds in splits.items() if "batch" in kinds} == set(BATCH_RUNS)
    assert {m for m, kinds in splits.items() if "classes" in kinds} == {"dm", *SPLIT_RUNS}


def batch_split_bytes(method: str, alone: CondensationMethod) -> tuple[int, int]:
    """(bytes, collectives) of one image update under batch splitting, from the tensor sizes."""
    images, loss, stop = 20 * DIGITS_IMAGE_BYTES, 4, 4
    if method == "kip":  # gradient of images + learned labels (one call), the loss, the stop flag
        return images + 20 * 10 * 4 + loss + stop, 3
    if method == "dd":  # gradient of images + T = 4 log-lrs, the loss, the stop flag
        return images + 4 * 4 + loss + stop, 3
    # MTT, each of the 3 student steps: the summed gradient (P) and, backwards, its adjoint (P);
    # then the gradient of images + α, the stop flag
    params = alone.flat_net.numel * 4
    return 3 * 2 * params + images + 4 + stop, 3 * 2 + 2


@pytest.mark.parametrize("method", sorted(BATCH_RUNS))
def test_batch_splitting_methods_on_two_ranks_give_the_images_of_one_process(tmp_path: Path, method: str) -> None:
    """DD, KIP, MTT: each rank computes its rows' share of the batch-mean loss; the gradients are
    summed. The sum is formed in another order than in one process, so equality is up to float
    rounding (a missing 1/N or a lost rank's rows would be off by far more)."""
    out, experts = tmp_path / "runs", tmp_path / "experts"
    extra = ["--set", f"experts_dir={experts}"] if method == "mtt" else []
    res = torchrun("condense", "--dataset", "digits", "--device", "cpu", *BATCH_RUNS[method], *extra,
                   "--ipc", "2", "--iterations", "3", "--out", str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    run = run_folder(out)
    config = run.read_config()
    alone = prepare(RunSpec.from_dict(config["spec"]), stored=config).build_method()  # one process
    initial = alone.images.detach().clone()
    losses = [alone.step().loss for _ in range(alone.total_iterations)]
    final = run.load_final().images
    torch.testing.assert_close(final, alone.images.detach(), atol=1e-4, rtol=1e-4)
    assert (final - initial).abs().max() > 1e-2  # the images did move: the comparison is not vacuous
    steps = [r for r in run.read_metrics() if "kind" not in r]
    # rank 0 reports the whole batch's loss (the ranks' shares summed), not its own share
    assert [r["loss"] for r in steps] == pytest.approx(losses, rel=1e-4)
    assert [(r["comm_bytes"], r["comm_calls"]) for r in steps[1:]] == [batch_split_bytes(method, alone)] * 2
    if method == "mtt":  # the experts were shared out (one per rank) and sent to both: as one process trains them
        own = build_or_load_buffer(alone.data, alone.buffer.spec, cache_dir=tmp_path / "alone", device="cpu")
        assert own.path != alone.buffer.path
        torch.testing.assert_close(alone.buffer.trajectories, own.trajectories, atol=1e-5, rtol=1e-5)


def test_evaluation_of_four_nets_over_two_ranks_matches_one_process(capsys: pytest.CaptureFixture) -> None:
    args = ["evaluate", "--coreset", "random", "--dataset", "digits", "--ipc", "2", "--models", "4",
            "--epochs", "3", "--device", "cpu", "--json"]
    res = torchrun(*args)
    assert res.returncode == 0, res.stderr[-3000:]
    (line,) = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]  # only rank 0 prints
    two_ranks = json.loads(line)
    assert main(args) == 0
    one_process = json.loads(capsys.readouterr().out)
    assert not torch.distributed.is_initialized()  # a plain process creates no process group
    assert len(two_ranks["accs"]) == 4
    assert two_ranks["accs"] == one_process["accs"]


def test_stopped_two_rank_run_resumes_to_the_uninterrupted_images(tmp_path: Path) -> None:
    proc = subprocess.Popen(_torchrun_cmd("condense", *DM_ARGS, "--iterations", str(LONG_RUN), "--out", str(tmp_path)),
                            cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run = wait_for_iteration(tmp_path, proc, 6)
        # a normal live run for the app: listed, 'running' (rank 0 holds the lock), rank 0 beats
        assert RunDir.list(tmp_path) == [run] and run.status() == "running"
        status = run.read_status()
        assert status["owner_pid"] == worker_pid(proc.pid, rank=0) and time.time() - status["heartbeat"] < 30
        proc.send_signal(signal.SIGTERM)  # torchrun passes it to both ranks; they agree on the step to stop
        proc.communicate(timeout=TIMEOUT_S)
    finally:
        proc.kill()
    status = run.read_status()
    assert status["status"] == "stopped", status
    assert 6 <= run.load_checkpoint()["iteration"] < LONG_RUN
    res = torchrun("condense", "--resume", str(run.path))
    assert res.returncode == 0, res.stderr[-3000:]
    assert run.read_status()["status"] == "finished"
    assert torch.equal(run.load_final().images, one_process_images(run))


def test_dead_rank_fails_the_run_clearly_and_leaves_a_resumable_checkpoint(tmp_path: Path) -> None:
    proc = subprocess.Popen(_torchrun_cmd("condense", *DM_ARGS, "--iterations", str(LONG_RUN), "--out", str(tmp_path)),
                            cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run = wait_for_iteration(tmp_path, proc, 6)
        os.kill(worker_pid(proc.pid, rank=1), signal.SIGKILL)
        proc.communicate(timeout=TIMEOUT_S)  # ends (rank 0's collective fails), does not hang
    finally:
        proc.kill()
    assert proc.returncode != 0
    status = run.read_status()
    assert status["status"] == "failed" and "another rank died" in status["message"], status
    assert run.status() == "failed"  # not 'running' for ever
    assert run.load_checkpoint()["iteration"] >= 3  # checkpoints every 3 iterations
    job = JobManager(tmp_path).resume(run.path)  # resumed by ONE process: N changes from 2 to 1
    assert job.wait(TIMEOUT_S) and job.status == "finished", job.message
    assert torch.equal(run.load_final().images, one_process_images(run))


def test_a_method_that_cannot_split_is_refused_in_one_line(tmp_path: Path) -> None:
    res = torchrun("condense", "--dataset", "digits", "--method", "idc", "--ipc", "2", "--device", "cpu",
                   "--out", str(tmp_path))
    assert res.returncode != 0
    assert "error: idc does not run on several ranks (torchrun)" in res.stderr
    assert not any(tmp_path.iterdir())  # refused before a run folder was made


def test_backend_follows_the_device_and_no_group_is_made_outside_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    from dclab.distributed import BatchShard, class_shard, my_share, rank_shards, world_session
    from dclab.distributed.world import backend_for, collective_timeout_s, launched_by_torchrun

    assert backend_for(torch.device("cuda", 0)) == "nccl" and backend_for(torch.device("cpu")) == "gloo"
    assert launched_by_torchrun({"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})
    assert not launched_by_torchrun({"RANK": "0"})
    assert collective_timeout_s({"DCLAB_COLLECTIVE_TIMEOUT": "7.5"}) == 7.5
    with pytest.raises(ValueError, match="DCLAB_COLLECTIVE_TIMEOUT"):
        collective_timeout_s({"DCLAB_COLLECTIVE_TIMEOUT": "soon"})
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    with world_session("cpu") as world:
        assert world is None and not torch.distributed.is_initialized()
        assert my_share(4) == [0, 1, 2, 3]
        shard = class_shard(10, "idc", supported=False)  # one process: every method, every class
        assert (shard.start, shard.stop, shard.split) == (0, 10, False)
        for split in (*SPLITS, None):  # ... and every row of every batch
            classes, rows = rank_shards(10, "idc", split)
            assert not classes.split and not rows.split and rows.rows(7) == slice(0, 7)
    assert [BatchShard(r, 3).rows(10) for r in range(3)] == [slice(0, 3), slice(3, 6), slice(6, 10)]
