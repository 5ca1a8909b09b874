"""Differentiable Siamese Augmentation (DSA): `sample_dsa` (siamese draws), `dsa_augment` (per image)."""
from dclab.augment.dsa import (
    DEFAULT_STRATEGY,
    OPS,
    DSADraw,
    DSAParams,
    dsa_augment,
    dsa_strategy_for,
    parse_strategy,
    sample_dsa,
)

__all__ = [
    "DEFAULT_STRATEGY",
    "OPS",
    "DSADraw",
    "DSAParams",
    "dsa_augment",
    "dsa_strategy_for",
    "parse_strategy",
    "sample_dsa",
]
