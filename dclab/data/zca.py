"""ZCA whitening as an invertible data transform (used by MTT on CIFAR, Cazenavette et al. 2022).

Fitted on the TRAINING images only (flattened): W = U diag((s + eps)^-1/2) Uᵀ for the covariance
U diag(s) Uᵀ, as kornia's ZCAWhitening with eps 0.1 that the MTT authors use. `whiten_bundle`
applies the training fit to train and test; `ZCA.unwhiten` maps images back for display.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from dclab.data.bundle import DatasetBundle

DEFAULT_EPS = 0.1  # MTT's kornia.enhance.ZCAWhitening(eps=0.1)


@dataclass(frozen=True)
class ZCA:
    mean: Tensor  # (D,) training mean, D = C·H·W
    w: Tensor  # (D, D) whitening matrix (symmetric)
    w_inv: Tensor  # (D, D) its inverse

    @classmethod
    def fit(cls, x: Tensor, eps: float = DEFAULT_EPS) -> ZCA:
        """Fit on images x (N, C, H, W) (float64 internally for a stable eigendecomposition)."""
        flat = x.reshape(x.shape[0], -1).double()  # (N, D)
        mean = flat.mean(0)
        centred = flat - mean
        cov = centred.T @ centred / max(flat.shape[0] - 1, 1)  # (D, D)
        s, u = torch.linalg.eigh(cov)
        s = s.clamp_min(0.0)
        w = (u * (s + eps).rsqrt()) @ u.T
        w_inv = (u * (s + eps).sqrt()) @ u.T
        return cls(mean.float(), w.float(), w_inv.float())

    def whiten(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> whitened, same shape."""
        flat = x.reshape(x.shape[0], -1)
        return ((flat - self.mean.to(x)) @ self.w.to(x)).view_as(x)

    def unwhiten(self, x: Tensor) -> Tensor:
        """Inverse of `whiten` (for display and export)."""
        flat = x.reshape(x.shape[0], -1)
        return (flat @ self.w_inv.to(x) + self.mean.to(x)).view_as(x)


def whiten_bundle(data: DatasetBundle, eps: float = DEFAULT_EPS) -> tuple[DatasetBundle, ZCA]:
    """The data set with train and test whitened by the fit on its training images."""
    zca = ZCA.fit(data.x_train, eps)

    def apply(x: Tensor) -> Tensor:  # in chunks: bounded memory
        return torch.cat([zca.whiten(part) for part in x.split(4096)])

    return replace(data, x_train=apply(data.x_train), x_test=apply(data.x_test),
                   source=f"{data.source} + ZCA(eps {eps})"), zca
