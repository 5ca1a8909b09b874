"""Coverage over time: every snapshot of one or more runs in ONE 2-D projection of feature space.

Features come from the ConvNet trained on the real training set (`trained_feature_net`, cached).
The projection is fitted once, so a point's position means the same in every frame:

* `pca` (default): a PCA fitted over the real sample and every snapshot of every run together, then
  applied to each frame. It is linear and deterministic, so distances along its axes are
  comparable across frames and runs, and it is fast (a few thousand points, milliseconds).
* `tsne`: one t-SNE over the same union (t-SNE cannot place new points afterwards, so all
  frames go into one fit). Clusters separate better, but the fit costs seconds to minutes on a
  CPU and every snapshot shapes the layout; frames are capped at `max_frames` per run.

Coverage (5-NN, see `dclab.viz.coverage`) and MMD² are measured in feature space, not in 2-D, against
the same real sample at every frame, with ONE kernel bandwidth (median heuristic of the real sample),
so the curves over iterations compare like with like.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from dclab.data.bundle import DatasetBundle
from dclab.eval.feature_net import embed_all, trained_feature_net
from dclab.progress import Progress, report_to
from dclab.runs.reader import snapshot_set
from dclab.runs.store import RunDir
from dclab.viz.coverage import knn_coverage, median_bandwidth2, mmd2_rbf
from dclab.viz.tsne import stratified_subsample

PROJECTIONS = ("pca", "tsne")


@dataclass(frozen=True)
class TimelineFrame:
    run: str  # run id
    method: str
    iteration: int
    xy: np.ndarray  # (M, 2) projected synthetic points (decoded images for multi-formation sets)
    labels: np.ndarray  # (M,)
    coverage: float  # share of the real sample covered (5-NN), 0..1
    mmd: float  # MMD² (RBF, the timeline's one bandwidth) between real sample and synthetic features


@dataclass(frozen=True)
class CoverageTimeline:
    real_xy: np.ndarray  # (R, 2) the real sample in the same projection
    real_labels: np.ndarray  # (R,)
    frames: tuple[TimelineFrame, ...]  # by run (in the order given), then iteration
    projection: str  # how the 2-D positions were made (one line)
    class_names: tuple[str, ...] = ()

    def runs(self) -> list[str]:
        return list(dict.fromkeys(f.run for f in self.frames))

    def frames_of(self, run: str) -> list[TimelineFrame]:
        return [f for f in self.frames if f.run == run]

    def iterations(self) -> list[int]:
        """Every iteration that has a frame in some run, ascending (a slider's stops)."""
        return sorted({f.iteration for f in self.frames})

    def frame_at(self, run: str, iteration: int) -> TimelineFrame:
        """The run's newest frame at or before `iteration` (its first frame before any)."""
        frames = self.frames_of(run)
        if not frames:
            raise KeyError(f"run {run!r} is not in this timeline")
        before = [f for f in frames if f.iteration <= iteration]
        return before[-1] if before else frames[0]


def _pick(iterations: list[int], max_frames: int) -> list[int]:
    """At most `max_frames` iterations, evenly spread, always the first and the last."""
    if len(iterations) <= max_frames:
        return iterations
    idx = np.unique(np.linspace(0, len(iterations) - 1, max_frames).round().astype(int))
    return [iterations[i] for i in idx]


def _project(points: Tensor, projection: str, seed: int) -> np.ndarray:
    """2-D positions of all points from one fit (PCA or t-SNE)."""
    x = points.double().numpy()
    if projection == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(x)
    from sklearn.manifold import TSNE

    return TSNE(n_components=2, perplexity=min(30.0, (x.shape[0] - 1) / 3), init="pca",
                random_state=seed).fit_transform(x)


def coverage_timeline(runs: Sequence[Path | str], data: DatasetBundle, device: str | torch.device = "auto", *,
                      max_real: int = 1000, seed: int = 0, progress: Progress | None = None,
                      projection: str = "pca", max_frames: int = 50, k: int = 5) -> CoverageTimeline:
    """The timeline of `runs` (all on `data`): one frame per kept snapshot of each run."""
    if projection not in PROJECTIONS:
        raise ValueError(f"unknown projection {projection!r}; choose one of: {', '.join(PROJECTIONS)}")
    if not runs:
        raise ValueError("give at least one run")
    report = report_to(progress)
    total = len(runs) + 2  # the feature net, each run's snapshots, the projection
    report(0, total)
    net = trained_feature_net(data, device=device)
    per_class = max(1, max_real // data.num_classes)
    idx = stratified_subsample(data.y_train.cpu(), per_class, seed)
    real = embed_all(net, data.x_train[idx]).cpu().double()
    real_labels = data.y_train.cpu()[idx]
    bandwidth2 = median_bandwidth2(real, real[:0])
    report(1, total)
    found: list[tuple[str, str, int, Tensor, Tensor]] = []  # run, method, iteration, features, labels
    run_dirs = [RunDir.open(r) for r in runs]
    for i, run in enumerate(run_dirs):
        its = _pick(run.snapshot_iterations(), max_frames)
        if not its:
            raise ValueError(f"run {run.run_id} has no snapshots yet")
        for it in its:
            syn = snapshot_set(run, it).decoded()
            if syn.dataset != data.name:
                raise ValueError(f"run {run.run_id} is on {syn.dataset}, not {data.name}")
            found.append((run.run_id, syn.method, it, embed_all(net, syn.images).cpu().double(), syn.labels))
        report(i + 2, total)
    xy = _project(torch.cat([real] + [f[3] for f in found]), projection, seed)
    frames, start = [], real.shape[0]
    for run_id, method, it, feats, labels in found:
        end = start + feats.shape[0]
        frames.append(TimelineFrame(run=run_id, method=method, iteration=it, xy=xy[start:end],
                                    labels=labels.numpy(), coverage=knn_coverage(real, feats, k),
                                    mmd=mmd2_rbf(real, feats, bandwidth2)))
        start = end
    report(total, total)
    how = ("PCA fitted once over the real sample and every snapshot" if projection == "pca"
           else "t-SNE fitted once over the real sample and every snapshot")
    return CoverageTimeline(real_xy=xy[:real.shape[0]], real_labels=real_labels.numpy(), frames=tuple(frames),
                            projection=f"{how}; features of a ConvNet trained on the real training set; "
                                       f"coverage {k}-NN and MMD² (bandwidth² {bandwidth2:.3g}) in feature space "
                                       f"against {real.shape[0]} real points",
                            class_names=tuple(data.class_names))
