"""Normalisation / activation / pooling choices shared by the networks."""
from __future__ import annotations

from torch import nn

NORMS = ("none", "batchnorm", "layernorm", "instancenorm", "groupnorm")
ACTS = ("relu", "sigmoid", "leakyrelu", "swish")
POOLS = ("avgpool", "maxpool", "none")


def make_norm(norm: str, channels: int, shape_hw: tuple[int, int]) -> nn.Module:
    """Norm layer as in the DC/DM reference code; instancenorm = GroupNorm(C, C, affine)."""
    if norm == "none":
        return nn.Identity()
    if norm == "batchnorm":
        return nn.BatchNorm2d(channels, affine=True)
    if norm == "layernorm":
        return nn.LayerNorm([channels, *shape_hw], elementwise_affine=True)
    if norm == "instancenorm":
        return nn.GroupNorm(channels, channels, affine=True)
    if norm == "groupnorm":
        return nn.GroupNorm(4, channels, affine=True)
    raise ValueError(f"unknown norm {norm!r}; choose one of: {', '.join(NORMS)}")


def make_act(act: str) -> nn.Module:
    if act == "relu":
        return nn.ReLU(inplace=False)
    if act == "sigmoid":
        return nn.Sigmoid()
    if act == "leakyrelu":
        return nn.LeakyReLU(0.01)
    if act == "swish":
        return nn.SiLU()
    raise ValueError(f"unknown activation {act!r}; choose one of: {', '.join(ACTS)}")


def make_pool(pool: str) -> nn.Module:
    if pool == "avgpool":
        return nn.AvgPool2d(kernel_size=2, stride=2)
    if pool == "maxpool":
        return nn.MaxPool2d(kernel_size=2, stride=2)
    if pool == "none":
        return nn.Identity()
    raise ValueError(f"unknown pooling {pool!r}; choose one of: {', '.join(POOLS)}")


def batchnorm_layers(net: nn.Module) -> list[nn.Module]:
    """The layers of `net` that normalise with batch statistics (BatchNorm1d/2d/3d)."""
    return [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def has_batchnorm(net: nn.Module) -> bool:
    """Whether any layer normalises with batch statistics (samples then interact)."""
    return bool(batchnorm_layers(net))
