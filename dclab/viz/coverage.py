"""How well a synthetic set covers the real data in feature space.

Two numbers per synthetic set, both computed on feature vectors (e.g. `embed_all` of a trained net):

* k-NN coverage: share of real points whose nearest synthetic point lies within that real point's
  k-NN radius among the real points (the "coverage" of Naeem et al. 2020, with synthetic in place of
  generated samples). 1.0 = every real neighbourhood holds a synthetic point.
* MMD² with an RBF kernel k(a, b) = exp(-‖a-b‖² / (2σ²)), σ² from the median heuristic (median of the
  pairwise squared distances of the pooled points); biased V-statistic, 0 = same distribution.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class CoverageResult:
    coverage: float  # share of real points covered, 0..1
    mmd2: float  # squared MMD, RBF kernel, median-heuristic bandwidth
    k: int
    num_real: int
    num_synthetic: int
    bandwidth2: float  # σ² used for the kernel


def knn_radii(real: Tensor, k: int) -> Tensor:
    """Distance from each real point to its k-th nearest other real point. real (N, D) -> (N,)."""
    if not 1 <= k < real.shape[0]:
        raise ValueError(f"k must be in 1..{real.shape[0] - 1} for {real.shape[0]} real points, got {k}")
    d = torch.cdist(real, real)  # (N, N)
    # the k+1 smallest include the point itself (distance 0); the k-th neighbour is the last of them
    return d.topk(k + 1, dim=1, largest=False).values[:, k]


def knn_coverage(real: Tensor, synthetic: Tensor, k: int = 5) -> float:
    """Share of real points with a synthetic point inside their k-NN ball. real (N, D), synthetic (M, D)."""
    radii = knn_radii(real, k)  # (N,)
    nearest_syn = torch.cdist(real, synthetic).min(dim=1).values  # (N,)
    return float((nearest_syn <= radii).float().mean())


def median_bandwidth2(x: Tensor, y: Tensor) -> float:
    """Median heuristic: σ² = median of the pairwise squared distances of the pooled points (i ≠ j)."""
    z = torch.cat([x, y])
    d2 = torch.cdist(z, z).pow(2)
    off = ~torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
    med = float(d2[off].median())
    return med if med > 0 else 1.0


def mmd2_rbf(x: Tensor, y: Tensor, bandwidth2: float | None = None) -> float:
    """Biased MMD² = mean k(x,x') + mean k(y,y') − 2 mean k(x,y) with an RBF kernel. x (N, D), y (M, D)."""
    s2 = median_bandwidth2(x, y) if bandwidth2 is None else bandwidth2

    def kmean(a: Tensor, b: Tensor) -> Tensor:
        return torch.exp(-torch.cdist(a, b).pow(2) / (2 * s2)).mean()

    return float(kmean(x, x) + kmean(y, y) - 2 * kmean(x, y))


def coverage_metrics(real: Tensor, synthetic: Tensor, k: int = 5, max_real: int = 2000,
                     seed: int = 0) -> CoverageResult:
    """Both numbers for one synthetic set; real points are subsampled (seeded) to `max_real`."""
    real = real.detach().double().cpu()  # float64: distances of near-identical points stay exact
    synthetic = synthetic.detach().double().cpu()
    if synthetic.shape[0] == 0:
        raise ValueError("the synthetic set is empty")
    if real.shape[0] > max_real:
        gen = torch.Generator().manual_seed(seed)
        real = real[torch.randperm(real.shape[0], generator=gen)[:max_real]]
    s2 = median_bandwidth2(real, synthetic)
    return CoverageResult(
        coverage=knn_coverage(real, synthetic, k),
        mmd2=mmd2_rbf(real, synthetic, s2),
        k=k,
        num_real=int(real.shape[0]),
        num_synthetic=int(synthetic.shape[0]),
        bandwidth2=s2,
    )
