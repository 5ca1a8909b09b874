"""Real versus synthetic in feature space: a joint t-SNE of several runs and each run's coverage.

Features come from a ConvNet trained on the real training set (`dclab.eval.feature_net`, cached).
Coverage = share of real points whose nearest synthetic neighbour lies within their k-NN radius;
MMD² with an RBF kernel (median heuristic); see `dclab.viz.coverage`.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from dclab.analysis._runs import DatasetCache, LoadedRun, load_runs
from dclab.progress import Progress, report_to
from dclab.runs.store import RunDir
from dclab.viz.coverage import CoverageResult
from dclab.viz.tsne import TsneEmbedding

STEPS = 3  # progress units: feature net, features + coverage, t-SNE


@dataclass(frozen=True)
class FeatureSpace:
    embedding: TsneEmbedding
    coverage: dict[str, CoverageResult]  # run id -> its coverage of the real features
    class_names: tuple[str, ...]

    def to_json(self, points: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"coverage": [
            {"run": rid, "coverage": c.coverage, "mmd2": c.mmd2, "k": c.k, "synthetic_points": c.num_synthetic,
             "real_points": c.num_real} for rid, c in self.coverage.items()]}
        e = self.embedding
        out["tsne_points"] = int(e.points.shape[0])
        if points:
            out["points"] = [{"x": float(x), "y": float(y), "class": self.class_names[int(c)], "source": str(s)}
                             for (x, y), c, s in zip(e.points, e.labels, e.source)]
        return out


@dataclass(frozen=True)
class FeatureSpacePlan:
    runs: tuple[LoadedRun, ...]
    device: str | torch.device
    data_root: str | None = None
    seed: int = 0
    k: int = 5
    real_per_class: int = 60
    feature_epochs: int | None = None  # None: the feature net's default

    def run(self, progress: Progress | None = None, stop: threading.Event | None = None) -> FeatureSpace | None:
        """Train (or load) the feature net, embed, measure coverage, run t-SNE; None when stopped."""
        from dclab.eval.feature_net import embed_all, trained_feature_net
        from dclab.viz.coverage import coverage_metrics
        from dclab.viz.tsne import tsne_real_vs_synthetic

        report = report_to(progress)
        data = DatasetCache(self.data_root).of(self.runs[0])
        report(0, STEPS)
        net = trained_feature_net(data, device=self.device, epochs=self.feature_epochs)
        report(1, STEPS)
        if stop is not None and stop.is_set():
            return None
        real = embed_all(net, data.x_train).cpu()
        feats = {r.run_id: (embed_all(net, r.synthetic.decoded().images).cpu(), r.synthetic.decoded().labels)
                 for r in self.runs}
        coverage = {rid: coverage_metrics(real, f, k=self.k, seed=self.seed) for rid, (f, _) in feats.items()}
        report(2, STEPS)
        if stop is not None and stop.is_set():
            return None
        emb = tsne_real_vs_synthetic(real, data.y_train, feats, real_per_class=self.real_per_class, seed=self.seed)
        report(3, STEPS)
        return FeatureSpace(emb, coverage, tuple(data.class_names))


def plan_feature_space(runs: Sequence[RunDir], *, device: str | torch.device = "auto", data_root: str | None = None,
                       seed: int = 0, feature_epochs: int | None = None) -> FeatureSpacePlan:
    """Read the runs (one data set: their features must live in one space); one-line errors here."""
    if len(runs) < 1:
        raise ValueError("t-SNE needs at least one run")
    loaded = load_runs(runs)
    names = sorted({r.record.dataset.name for r in loaded})
    if len(names) > 1:
        raise ValueError(f"the runs use different data sets ({', '.join(names)}); choose runs of one")
    if feature_epochs is not None and feature_epochs < 1:
        raise ValueError(f"feature epochs must be >= 1, got {feature_epochs}")
    return FeatureSpacePlan(tuple(loaded), device, data_root, seed, feature_epochs=feature_epochs)


def feature_space(runs: Sequence[RunDir], *, device: str | torch.device = "auto", data_root: str | None = None,
                  seed: int = 0, feature_epochs: int | None = None, progress: Progress | None = None) -> FeatureSpace:
    """`plan_feature_space(...).run(progress)`: joint t-SNE and coverage of the runs."""
    result = plan_feature_space(runs, device=device, data_root=data_root, seed=seed,
                                feature_epochs=feature_epochs).run(progress)
    assert result is not None  # only a stop event ends it early
    return result
