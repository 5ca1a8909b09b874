"""Functional views of a network: run it on an explicit parameter dict or ONE flat vector.

DD and MTT differentiate through many SGD steps of a network. Holding the weights as plain
tensors (not `nn.Parameter`s updated in place) keeps the whole unrolled trajectory in one
autograd graph; a single flat vector (MTT) makes each step one fused `θ - lr·g` and lets the
trajectory loss be a plain vector norm.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call


@dataclass(frozen=True)
class FlatNet:
    """A network `module` whose parameters are addressed as one flat vector.

    `names`/`shapes` list the parameters in `module.named_parameters()` order; buffers
    (e.g. BatchNorm running stats) are taken from the module unchanged.
    """

    module: nn.Module
    names: tuple[str, ...]
    shapes: tuple[torch.Size, ...]

    @classmethod
    def wrap(cls, module: nn.Module) -> FlatNet:
        named = list(module.named_parameters())
        return cls(module, tuple(n for n, _ in named), tuple(p.shape for _, p in named))

    @property
    def numel(self) -> int:
        return sum(int(torch.Size(s).numel()) for s in self.shapes)

    def flat_params(self) -> Tensor:
        """Current module weights as one detached vector (P,)."""
        return torch.cat([p.detach().reshape(-1) for p in self.module.parameters()])

    def unflatten(self, flat: Tensor) -> dict[str, Tensor]:
        """Views of `flat` (P,) shaped like each parameter (no copy; gradients flow to `flat`)."""
        out: dict[str, Tensor] = {}
        offset = 0
        for name, shape in zip(self.names, self.shapes):
            n = int(torch.Size(shape).numel())
            out[name] = flat[offset:offset + n].view(shape)
            offset += n
        return out

    def __call__(self, flat: Tensor, x: Tensor) -> Tensor:
        """Forward pass of the module with weights `flat` (P,) on x (N, C, H, W) -> logits."""
        return forward_with(self.module, self.unflatten(flat), x)


def forward_with(module: nn.Module, params: dict[str, Tensor], x: Tensor) -> Tensor:
    """module(x) with `params` substituted for its parameters (buffers kept)."""
    buffers = dict(module.named_buffers())
    return functional_call(module, {**buffers, **params}, (x,))


def detached_params(module: nn.Module) -> dict[str, Any]:
    """The module's parameters as a dict of detached clones (a functional starting point)."""
    return {n: p.detach().clone() for n, p in module.named_parameters()}

