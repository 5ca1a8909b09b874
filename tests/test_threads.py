"""Thread policy (dclab/threads.py): jobs and evaluations keep the process's thread count; the user
caps it with --threads / $DCLAB_THREADS; the count used is recorded in the run and the protocol line."""
from __future__ import annotations

import json

import pytest
import torch

from dclab.cli.main import main
from dclab.runs import RunDir
from dclab.threads import ENV_VAR, apply_threads, requested_threads

TINY = ["--dataset", "digits", "--method", "dm", "--ipc", "2", "--set", "batch_real=32", "--set", "width=16"]


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_requested_threads_reads_flag_then_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert requested_threads(None) is None
    monkeypatch.setenv(ENV_VAR, "3")
    assert requested_threads(None) == 3
    assert requested_threads(2) == 2  # the flag wins over the environment


@pytest.mark.parametrize("flag, env, error", [
    (0, "", "--threads must be a whole number of threads >= 1, got 0"),
    (None, "two", "DCLAB_THREADS must be a whole number of threads >= 1, got 'two'"),
    (None, "-1", "DCLAB_THREADS must be a whole number of threads >= 1, got -1"),
])
def test_bad_thread_count_is_a_one_line_error(monkeypatch, flag, env, error):
    monkeypatch.setenv(ENV_VAR, env)
    with pytest.raises(ValueError) as e:
        requested_threads(flag)
    assert str(e.value) == error


def test_bad_threads_flag_exits_2_on_the_cli(tmp_path, capsys, restore_threads):
    assert main(["condense", *TINY, "--out", str(tmp_path / "runs"), "--threads", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --threads must be a whole number of threads >= 1, got 0"
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_apply_threads_sets_the_cap_and_keeps_the_default_without_one(monkeypatch, restore_threads):
    monkeypatch.delenv(ENV_VAR, raising=False)
    torch.set_num_threads(2)
    assert apply_threads(None) == 2 and torch.get_num_threads() == 2
    monkeypatch.setenv(ENV_VAR, "1")
    assert apply_threads(None) == 1 and torch.get_num_threads() == 1


def test_condense_and_evaluate_record_the_threads_used(tmp_path, capsys, monkeypatch, restore_threads):
    monkeypatch.delenv(ENV_VAR, raising=False)
    torch.set_num_threads(2)
    argv = ["condense", *TINY, "--out", str(tmp_path / "runs"), "--iterations", "2", "--threads", "1",
            "--eval", "--eval-preset", "quick"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "CPU (1 threads)" in out  # the run's header states the device with its threads
    line = next(line for line in out.splitlines() if line.startswith("accuracy"))
    assert line.endswith(", 1 CPU threads]"), line
    run = RunDir.open(out.strip().splitlines()[-1])
    assert run.read_status()["threads"] == 1

    monkeypatch.setenv(ENV_VAR, "2")
    assert main(["evaluate", str(run.path), "--json", "--protocol", "quick", "--models", "1", "--epochs", "1"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["extra"]["threads"] == 2 and result["protocol_text"].endswith(", 2 CPU threads")


def test_concurrent_workers_share_the_budget_and_leave_the_main_thread_alone():
    """Two workers computing at once get budget // 2 threads each (no oversubscription), the main
    thread keeps its count, and a worker alone gets the whole budget again."""
    import threading

    from dclab.threads import compute_share, rebalance

    before = torch.get_num_threads()
    apply_threads(4)
    try:
        both_in = threading.Barrier(2)
        seen: list[tuple[int, int]] = []

        def worker() -> None:
            with compute_share():
                both_in.wait(10)
                seen.append((rebalance(), torch.get_num_threads()))
                both_in.wait(10)  # both measured while both are registered

        workers = [threading.Thread(target=worker) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(20)
        assert seen == [(2, 2), (2, 2)]
        assert torch.get_num_threads() == 4  # the main thread is not throttled
        alone: list[int] = []

        def single() -> None:
            with compute_share() as n:
                alone.append(n)

        t = threading.Thread(target=single)
        t.start()
        t.join(20)
        assert alone == [4]
    finally:
        apply_threads(before)
