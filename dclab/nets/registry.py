"""Registry of networks. Entry: a class (or a `functools.partial` of one) called as
`Net(channels, num_classes, image_size, **options) -> nn.Module`.

Every network has `forward(x) -> logits` and `embed(x) -> (N, D)` features before the classifier.
The options a network takes are read from its signature (`net_option_names`), never discovered
by calling it and catching an error, so a bug inside a constructor always surfaces.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
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


_INPUT_ARGS = ("channels", "num_classes", "image_size")


def net_option_names(name: str) -> frozenset[str]:
    """The keyword options network `name` accepts (e.g. ConvNet: width, depth, norm, act, pool)."""
    params = inspect.signature(NETS.get(name)).parameters
    return frozenset(p for p in params if p not in _INPUT_ARGS)


def accepted_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of `options` that network `name` takes (sizes and norms apply where they exist:
    a ConvNet gets width/depth/norm, LeNet none of them)."""
    names = net_option_names(name)
    return {k: v for k, v in options.items() if k in names}
