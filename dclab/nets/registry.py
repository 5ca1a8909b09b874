"""Registry of networks. Entry: `factory(channels, num_classes, image_size, **options) -> nn.Module`.

Every network has `forward(x) -> logits` and `embed(x) -> (N, D)` features before the classifier.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from dclab.registry import Registry
from dclab.seeding import seeded

NetFactory = Callable[..., nn.Module]
NETS: Registry[NetFactory] = Registry("network")


def get_net(
    name: str,
    *,
    channels: int,
    num_classes: int,
    image_size: tuple[int, int],
    seed: int | None = None,
    **options: Any,
) -> nn.Module:
    """Build a network; with `seed` its initial weights are reproducible."""
    factory = NETS.get(name)
    if seed is None:
        return factory(channels, num_classes, tuple(image_size), **options)
    with seeded(seed):
        return factory(channels, num_classes, tuple(image_size), **options)


def list_nets() -> list[str]:
    return NETS.names()
