"""dclab.viz (coverage, t-SNE, figures, grids, run summaries) and the app's background EvalBoard."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from dclab.data.bundle import denormalize
from dclab.jobs.eval_job import EvalBoard
from dclab.synthetic import SyntheticSet, class_major_labels
from dclab.viz.coverage import coverage_metrics, knn_coverage, knn_radii, median_bandwidth2, mmd2_rbf
from dclab.viz.figures import loss_figure, subset_curve_figure, tsne_figure
from dclab.viz.grid import snapshot_grid
from dclab.viz.tsne import stratified_subsample, tsne_real_vs_synthetic


def _blobs(n_per: int, centers: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.cat([c + 0.3 * torch.randn(n_per, centers.shape[1], generator=g) for c in centers])
    return x, torch.arange(len(centers)).repeat_interleave(n_per)


CENTERS = torch.tensor([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0], [0.0, 5.0, 0.0]])


# ---- coverage ----------------------------------------------------------------------------------
def _coverage_reference(real: torch.Tensor, syn: torch.Tensor, k: int) -> float:
    """Plain loops: the definition, point by point."""
    covered = 0
    for i in range(real.shape[0]):
        d_real = sorted(float((real[i] - real[j]).norm()) for j in range(real.shape[0]) if j != i)
        radius = d_real[k - 1]
        nearest = min(float((real[i] - s).norm()) for s in syn)
        covered += nearest <= radius
    return covered / real.shape[0]


def _mmd_reference(x: torch.Tensor, y: torch.Tensor, s2: float) -> float:
    def k(a, b):
        return float(torch.exp(-((a - b) ** 2).sum() / (2 * s2)))

    kxx = sum(k(a, b) for a in x for b in x) / len(x) ** 2
    kyy = sum(k(a, b) for a in y for b in y) / len(y) ** 2
    kxy = sum(k(a, b) for a in x for b in y) / (len(x) * len(y))
    return kxx + kyy - 2 * kxy


def test_coverage_matches_reference_loops():
    real, _ = _blobs(15, CENTERS, seed=1)
    syn, _ = _blobs(2, CENTERS[:2], seed=2)
    real, syn = real.double(), syn.double()
    for k in (1, 3, 5):
        assert knn_coverage(real, syn, k) == pytest.approx(_coverage_reference(real, syn, k))
    s2 = median_bandwidth2(real, syn)
    assert mmd2_rbf(real, syn, s2) == pytest.approx(_mmd_reference(real, syn, s2), rel=1e-9)


def test_coverage_separates_good_from_bad_sets():
    real, _ = _blobs(40, CENTERS, seed=0)
    on_every_cluster, _ = _blobs(5, CENTERS, seed=3)
    one_cluster_only, _ = _blobs(15, CENTERS[:1], seed=3)
    good = coverage_metrics(real, on_every_cluster, k=5)
    bad = coverage_metrics(real, one_cluster_only, k=5)
    assert good.coverage > 0.3 and bad.coverage < 0.34  # one of three clusters at most
    assert good.coverage > bad.coverage
    assert good.mmd2 < bad.mmd2
    same = coverage_metrics(real, real, k=5)
    assert same.coverage == 1.0 and abs(same.mmd2) < 1e-9


def test_knn_radii_rejects_bad_k():
    with pytest.raises(ValueError):
        knn_radii(torch.randn(4, 2), 4)


def test_coverage_subsamples_real_points_with_seed():
    real, _ = _blobs(100, CENTERS, seed=0)
    syn, _ = _blobs(3, CENTERS, seed=1)
    a = coverage_metrics(real, syn, max_real=50, seed=7)
    b = coverage_metrics(real, syn, max_real=50, seed=7)
    assert a.num_real == 50 and a == b


# ---- t-SNE --------------------------------------------------------------------------------------
def test_stratified_subsample_takes_per_class():
    labels = torch.tensor([0] * 10 + [1] * 3 + [2] * 7)
    idx = stratified_subsample(labels, 4, seed=0)
    assert torch.bincount(labels[idx]).tolist() == [4, 3, 4]
    assert torch.equal(idx, stratified_subsample(labels, 4, seed=0))


def test_tsne_embeds_real_and_synthetic_reproducibly():
    real, y = _blobs(30, CENTERS, seed=0)
    syn_a, ya = _blobs(2, CENTERS, seed=1)
    syn_b, yb = _blobs(1, CENTERS, seed=2)
    emb = tsne_real_vs_synthetic(real, y, {"dm": (syn_a, ya), "dc": (syn_b, yb)}, real_per_class=20, seed=0)
    assert emb.points.shape == (60 + 6 + 3, 2)
    assert (emb.source == "real").sum() == 60 and (emb.source == "dm").sum() == 6
    assert emb.is_synthetic.sum() == 9
    again = tsne_real_vs_synthetic(real, y, {"dm": (syn_a, ya), "dc": (syn_b, yb)}, real_per_class=20, seed=0)
    np.testing.assert_allclose(emb.points, again.points)
    # well separated clusters stay separated: each class's real points are closer to their own mean
    means = np.stack([emb.points[(emb.labels == c) & ~emb.is_synthetic].mean(0) for c in range(3)])
    pts = emb.points[~emb.is_synthetic]
    nearest = np.argmin(((pts[:, None] - means[None]) ** 2).sum(-1), axis=1)
    assert (nearest == emb.labels[~emb.is_synthetic]).mean() > 0.95
    fig = tsne_figure(emb, ["a", "b", "c"])
    names = [t.name for t in fig.data]
    assert names == ["real", "synthetic: dm", "synthetic: dc"]
    assert fig.data[1].marker.size > fig.data[0].marker.size


# ---- figures, grids ------------------------------------------------------------------------------
def test_loss_and_curve_figures_carry_the_data():
    fig = loss_figure([(1, 2.0), (2, 1.5)], [{"iteration": 2, "mean": 0.5, "std": 0.1, "protocol_text": "p"}])
    assert list(fig.data[0].y) == [2.0, 1.5] and list(fig.data[1].y) == [50.0]
    fig = subset_curve_figure({"MDC": [(1, 0.4, 0.0), (2, 0.6, 0.01)]})
    assert list(fig.data[0].x) == [1, 2] and list(fig.data[0].y) == pytest.approx([40.0, 60.0])


def test_snapshot_grid_denormalises_like_synthetic_set():
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(3 * 2, 1, 8, 8, generator=gen)
    syn = SyntheticSet(images, class_major_labels(3, 2), "toy", ("a", "b", "c"), (0.3,), (0.2,), "x")
    assert torch.allclose(denormalize(images, (0.3,), (0.2,)), syn.denormalized())
    img = snapshot_grid(images, (0.3,), (0.2,), ipc=2, class_names=None, scale=1)
    assert img.size == (2 * 8 + 2, 3 * 8 + 2 * 2)  # 2 columns, 3 rows, 2-pixel gaps
    pix = np.asarray(img)[:8, :8, 0] / 255.0
    np.testing.assert_allclose(pix, syn.denormalized()[0, 0].numpy(), atol=1 / 255 + 1e-6)


# ---- run summaries from a real (tiny) run --------------------------------------------------------
def test_run_summary_reads_a_real_run(tmp_path):
    from dclab.jobs import JobManager, RunSpec
    from dclab.runs.reader import summarize_run

    manager = JobManager(tmp_path)
    job = manager.submit(RunSpec(dataset="digits", method="dm", ipc=1, iterations=3,
                                 overrides={"batch_real": 16}))
    assert job.wait(120)
    s = summarize_run(job.run_dir)
    assert (s.method, s.dataset, s.ipc, s.status, s.iteration, s.total_iterations) == ("dm", "digits", 1,
                                                                                     "finished", 3, 3)
    assert s.last_loss is not None and s.row()["iteration"] == "3/3"


# ---- background evaluation board -----------------------------------------------------------------
def _train_tiny(progress, stop):
    """A real computation: least squares by gradient descent, reporting progress each step."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=gen)
    w_true = torch.tensor([1.0, -2.0, 0.5])
    y = x @ w_true
    w = torch.zeros(3, requires_grad=True)
    for step in range(200):
        if stop.is_set():
            return None
        loss = ((x @ w - y) ** 2).mean()
        (g,) = torch.autograd.grad(loss, w)
        with torch.no_grad():
            w -= 0.1 * g
        progress(step + 1, 200)
    return w.detach()


def test_eval_board_runs_tasks_in_background():
    board = EvalBoard()
    job = board.submit("fit", "fit", _train_tiny)
    assert job.wait(30)
    snap = job.snapshot()
    assert snap.status == "finished" and (snap.done, snap.total) == (200, 200)
    assert torch.allclose(snap.result, torch.tensor([1.0, -2.0, 0.5]), atol=1e-3)

    def broken(progress, stop):
        raise ValueError("bad input\nsecond line")

    failed = board.submit("broken", "broken", broken)
    failed.wait(10)
    assert failed.snapshot().status == "failed" and failed.snapshot().message == "ValueError: bad input"


def test_eval_board_stop_and_refuses_duplicate():
    board = EvalBoard()
    gate = threading.Event()

    def waits(progress, stop):
        gate.set()
        stop.wait(30)
        return "late"

    job = board.submit("k", "slow", waits)
    gate.wait(5)
    with pytest.raises(ValueError, match="already running"):
        board.submit("k", "slow", waits)
    board.shutdown(timeout=10)
    assert job.ended and job.snapshot().status == "stopped"
