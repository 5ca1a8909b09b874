"""t-SNE of real versus synthetic feature vectors, in one shared 2-D embedding.

Real points are subsampled (seeded, stratified by class) so t-SNE stays interactive on a CPU; all
synthetic points of every set are kept. sklearn's TSNE with `random_state=seed` makes it reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class TsneEmbedding:
    """points[i] is the 2-D position of point i; `source[i]` is "real" or the synthetic set's name."""

    points: np.ndarray  # (N, 2) float
    labels: np.ndarray  # (N,) int class index
    source: np.ndarray  # (N,) str: "real" or a synthetic set name

    @property
    def is_synthetic(self) -> np.ndarray:
        return self.source != "real"


def stratified_subsample(labels: Tensor, per_class: int, seed: int) -> Tensor:
    """Indices of up to `per_class` random points of every class (sorted), drawn with a seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    picks = []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        picks.append(idx[torch.randperm(idx.numel(), generator=gen)[:per_class]])
    return torch.cat(picks).sort().values


def tsne_real_vs_synthetic(
    real_features: Tensor,
    real_labels: Tensor,
    synthetic: dict[str, tuple[Tensor, Tensor]],
    *,
    real_per_class: int = 60,
    seed: int = 0,
    perplexity: float = 30.0,
) -> TsneEmbedding:
    """Embed a class-stratified sample of real features and all synthetic features together.

    real_features (N, D), real_labels (N,); synthetic maps a name to (features (M, D), labels (M,)).
    """
    from sklearn.manifold import TSNE

    idx = stratified_subsample(real_labels.cpu(), real_per_class, seed)
    feats = [real_features[idx].detach().cpu().float()]
    labels = [real_labels[idx].cpu()]
    source = ["real"] * idx.numel()
    for name, (f, y) in synthetic.items():
        feats.append(f.detach().cpu().float())
        labels.append(y.cpu())
        source += [name] * f.shape[0]
    x = torch.cat(feats).numpy()
    n = x.shape[0]
    if n < 5:
        raise ValueError(f"t-SNE needs at least 5 points, got {n}")
    tsne = TSNE(n_components=2, perplexity=min(perplexity, (n - 1) / 3), init="pca", random_state=seed)
    return TsneEmbedding(points=tsne.fit_transform(x), labels=torch.cat(labels).numpy(),
                         source=np.asarray(source))
