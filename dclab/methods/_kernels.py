"""Closed-form infinite-width kernels of a fully connected ReLU network, and kernel ridge regression.

Arc-cosine recursion (Cho & Saul 2009; NNGP: Lee et al. 2018; NTK: Jacot et al. 2018), in the
NTK parameterisation with weight variance σ_w² and bias variance σ_b². For inputs x, x' (flattened):

    K⁰(x,x') = σ_w² x·x'/d + σ_b²
    K^{l+1}  = σ_w²/(2π) √(K^l_xx K^l_x'x') (sin θ + (π−θ) cos θ) + σ_b²     cos θ = K^l_xx' / √(K^l_xx K^l_x'x')
    K̇^{l+1}  = σ_w²/(2π) (π−θ)                                             (derivative kernel)
    Θ⁰ = K⁰,   Θ^{l+1} = K^{l+1} + K̇^{l+1} Θ^l                                (NTK)

`depth` = number of hidden ReLU layers; the returned kernel is that of the output layer.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

KERNELS = ("ntk", "nngp")
_COS_EPS = 1e-6  # keeps arccos away from ±1, where its derivative is infinite


def fc_relu_kernel(
    x1: Tensor,
    x2: Tensor | None = None,
    depth: int = 3,
    kind: str = "ntk",
    w_var: float = 2.0,
    b_var: float = 0.01,
) -> Tensor:
    """NTK or NNGP of an FC ReLU net between x1 (N, ...) and x2 (M, ...) -> (N, M).

    With x2=None the Gram matrix of x1 is returned (exactly symmetric).
    """
    if kind not in KERNELS:
        raise ValueError(f"unknown kernel {kind!r}; choose one of: {', '.join(KERNELS)}")
    if depth < 0:
        raise ValueError(f"kernel depth must be >= 0, got {depth}")
    a = x1.reshape(x1.shape[0], -1)
    b = a if x2 is None else x2.reshape(x2.shape[0], -1)
    d = a.shape[1]
    k = w_var * (a @ b.T) / d + b_var  # K⁰ (N, M)
    ka = w_var * (a * a).sum(1) / d + b_var  # diag K⁰ of x1 (N,)
    kb = ka if x2 is None else w_var * (b * b).sum(1) / d + b_var  # (M,)
    theta_ntk = k
    for _ in range(depth):
        norm = torch.sqrt(ka[:, None] * kb[None, :])  # √(K_xx K_x'x')
        cos = (k / norm).clamp(-1.0 + _COS_EPS, 1.0 - _COS_EPS)
        angle = torch.arccos(cos)
        k_new = w_var / (2 * math.pi) * norm * (torch.sin(angle) + (math.pi - angle) * cos) + b_var
        k_dot = w_var / (2 * math.pi) * (math.pi - angle)
        theta_ntk = k_new + k_dot * theta_ntk
        k = k_new
        # on the diagonal θ = 0: K^{l+1}_xx = σ_w²/2 K^l_xx + σ_b²
        ka = w_var / 2 * ka + b_var
        kb = ka if x2 is None else w_var / 2 * kb + b_var
    out = theta_ntk if kind == "ntk" else k
    if x2 is None:
        out = 0.5 * (out + out.T)  # remove rounding asymmetry
    return out


def krr_solve(k_ss: Tensor, y_s: Tensor, reg: float) -> Tensor:
    """Dual coefficients α = (K_ss + λ̃ I)^-1 y_s with λ̃ = reg · tr(K_ss)/n (KIP's trace scaling).

    k_ss: (n, n), y_s: (n, classes) -> (n, classes).
    """
    n = k_ss.shape[0]
    lam = reg * torch.trace(k_ss) / n
    eye = torch.eye(n, dtype=k_ss.dtype, device=k_ss.device)
    return torch.linalg.solve(k_ss + lam * eye, y_s)


def krr_predict(k_ts: Tensor, k_ss: Tensor, y_s: Tensor, reg: float) -> Tensor:
    """KRR prediction K(x_t, x_s)(K(x_s, x_s) + λ̃I)^-1 y_s: (T, n) x (n, n) x (n, classes) -> (T, classes)."""
    return k_ts @ krr_solve(k_ss, y_s, reg)
