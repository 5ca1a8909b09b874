"""Distances that condensation methods minimise, plus the image-freezing rule MDC needs.

- `gradient_distance`: DC's layer-wise "ours" distance between two sets of parameter gradients,
  Σ_layers Σ_out (1 − cos(g_syn, g_real)), batched over any number of leading dims (classes).
- `mean_embedding_distance`: DM's ‖mean f(real) − mean f(syn)‖² per class.
- `freeze_prefix_`: no gradient for the first k synthetic images of every class (MDC).
- `SubsetProbe`: what a base method's `matching_step` calls with each matched batch (MDC).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor

# probe(net, real, syn): the network in use and one matched, augmented batch; real (G, B, C, H, W),
# syn (G, M, C, H, W) for G classes, M = ipc x decoded images per stored image. Must not modify them.
SubsetProbe = Callable[["torch.nn.Module", Tensor, Tensor], None]

EPS = 1e-6  # reference code: denominator ‖g_r‖‖g_s‖ + 0.000001


def layer_distance(g_syn: Tensor, g_real: Tensor, batch_dims: int = 0) -> Tensor:
    """1 − cos per output unit, summed over outputs, for one parameter's gradients.

    g_*: (*batch, *param_shape). Conv grads (out, in, h, w) are compared as (out, in·h·w) rows,
    linear (out, in) as rows, layernorm (C, h, w) as (C, h·w); 1-D params (bias, norm) give 0.
    Returns a tensor of shape `batch`.
    """
    batch_shape = g_syn.shape[:batch_dims]
    param_shape = g_syn.shape[batch_dims:]
    if len(param_shape) <= 1:
        return g_syn.new_zeros(batch_shape)
    gs = g_syn.reshape(*batch_shape, param_shape[0], -1)  # (*batch, out, rest)
    gr = g_real.reshape(*batch_shape, param_shape[0], -1)
    cos = (gs * gr).sum(-1) / (gs.norm(dim=-1) * gr.norm(dim=-1) + EPS)  # (*batch, out)
    return (1.0 - cos).sum(-1)


def gradient_distance(g_syn: Iterable[Tensor], g_real: Iterable[Tensor], batch_dims: int = 0) -> Tensor:
    """DC matching distance D(∇L_syn, ∇L_real) = Σ_layers layer_distance (shape `batch`)."""
    total: Tensor | None = None
    for gs, gr in zip(g_syn, g_real, strict=True):
        d = layer_distance(gs, gr, batch_dims)
        total = d if total is None else total + d
    if total is None:
        raise ValueError("no gradients to compare")
    return total


def mean_embedding_distance(emb_real: Tensor, emb_syn: Tensor) -> Tensor:
    """DM loss per class: ‖mean_i f(real_ci) − mean_j f(syn_cj)‖².

    emb_real: (classes, n_real, D), emb_syn: (classes, n_syn, D) -> (classes,)
    """
    return (emb_real.mean(1) - emb_syn.mean(1)).pow(2).sum(-1)


def freeze_prefix_(images: Tensor, num_classes: int, frozen: int) -> None:
    """Give images[c, :frozen] of every class c no gradient from this step's loss (MDC).

    As the MDC authors' code (frozen images are detached from the loss), only the gradient is
    zeroed: the optimiser's momentum from earlier steps still moves them. images are class-major
    (classes*ipc, C, H, W).
    """
    if frozen <= 0 or images.grad is None:
        return
    with torch.no_grad():
        images.grad.view(num_classes, -1, *images.shape[1:])[:, :frozen] = 0.0
