"""RunDir round trips: config, status, metrics, snapshots, checkpoint, final set, atomic writes."""
from __future__ import annotations

import json

import pytest
import torch

from dclab.runs import RunDir, RunNotFoundError
from dclab.synthetic import SyntheticSet, class_major_labels


def make_set(num_classes: int = 3, ipc: int = 2, soft: bool = False) -> SyntheticSet:
    gen = torch.Generator().manual_seed(0)
    n = num_classes * ipc
    return SyntheticSet(
        images=torch.randn(n, 1, 8, 8, generator=gen),
        labels=class_major_labels(num_classes, ipc),
        dataset="digits",
        class_names=tuple(str(c) for c in range(num_classes)),
        mean=(0.3,),
        std=(0.4,),
        method="dm",
        config={"iterations": 5, "lr_img": 1.0},
        seed=7,
        soft_labels=torch.rand(n, num_classes, generator=gen) if soft else None,
        extras={"lrs": torch.tensor([0.1, 0.2])},
    )


def no_temp_files(path) -> bool:
    return not [p for p in path.rglob(".*") if p.is_file()]


def test_create_gives_unique_folders_and_open_checks_config(tmp_path):
    a, b = RunDir.create(tmp_path, "dm digits"), RunDir.create(tmp_path, "dm digits")
    assert a.path != b.path and a.path.is_dir() and b.path.is_dir()
    with pytest.raises(RunNotFoundError):
        RunDir.open(a.path)  # no config.json yet
    a.write_config({"method": "dm"})
    assert RunDir.open(a.path).run_id == a.run_id
    assert [r.run_id for r in RunDir.list(tmp_path)] == [a.run_id]


def test_config_status_metrics_round_trip(tmp_path):
    run = RunDir.create(tmp_path, "x")
    cfg = {"method": "dc", "ipc": 10, "dataset": {"name": "digits", "mean": [0.3], "std": [0.4]}}
    run.write_config(cfg)
    assert run.read_config() == cfg
    assert run.read_status()["status"] == "unknown"
    run.write_status("running", "step 3", iteration=3)
    st = run.read_status()
    assert (st["status"], st["message"], st["iteration"]) == ("running", "step 3", 3)
    records = [{"iteration": i, "loss": 1.0 / i} for i in range(1, 6)]
    for r in records:
        run.append_metrics(r)
    assert run.read_metrics() == records
    with open(run.path / "metrics.jsonl", "a") as f:
        f.write('{"iteration": 6, "lo')  # a line cut by a crash is skipped
    assert run.read_metrics() == records
    run.truncate_metrics(3)
    assert [r["iteration"] for r in run.read_metrics()] == [1, 2, 3]
    assert no_temp_files(run.path)


def test_snapshots_round_trip_in_order(tmp_path):
    run = RunDir.create(tmp_path, "x")
    imgs = {it: torch.full((2, 1, 4, 4), float(it)) for it in (200, 0, 100)}
    for it, x in imgs.items():
        run.save_snapshot(it, x)
    assert run.snapshot_iterations() == [0, 100, 200]
    for it, x in run.iter_snapshots():
        assert torch.equal(x, imgs[it])
    assert no_temp_files(run.path)


def test_checkpoint_and_final_round_trip(tmp_path):
    run = RunDir.create(tmp_path, "x")
    assert not run.has_checkpoint() and not run.has_final()
    state = {"iteration": 4, "images": torch.randn(3, 1, 8, 8), "generator": torch.Generator().get_state()}
    run.save_checkpoint(state)
    back = run.load_checkpoint()
    assert back["iteration"] == 4 and torch.equal(back["images"], state["images"])
    assert torch.equal(back["generator"], state["generator"])
    s = make_set(soft=True)
    run.save_final(s)
    t = run.load_final()
    assert torch.equal(t.images, s.images) and torch.equal(t.labels, s.labels)
    assert torch.equal(t.soft_labels, s.soft_labels) and torch.equal(t.extras["lrs"], s.extras["lrs"])
    assert (t.dataset, t.class_names, t.mean, t.std, t.method, t.config, t.seed) == (
        s.dataset, s.class_names, s.mean, s.std, s.method, s.config, s.seed)
    assert no_temp_files(run.path)


def test_atomic_write_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
    from dclab.files import atomic_write

    run = RunDir.create(tmp_path, "x")
    run.write_config({"v": 1})

    def broken(p):
        p.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(run.path / "config.json", broken)
    assert json.loads((run.path / "config.json").read_text()) == {"v": 1}
    assert no_temp_files(run.path)


def test_delete_removes_folder(tmp_path):
    run = RunDir.create(tmp_path, "x")
    run.write_config({})
    run.delete()
    assert not run.path.exists() and RunDir.list(tmp_path) == []
