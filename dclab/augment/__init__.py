"""Differentiable Siamese Augmentation (DSA): `sample_dsa` / `draw_siamese` (siamese draws), `dsa_augment`
(per image), `resolve_dsa_strategy` (the one resolver of a strategy setting)."""
from dclab.augment.dsa import (
    AUTO,
    DEFAULT_STRATEGY,
    OPS,
    DSADraw,
    DSAParams,
    draw_siamese,
    dsa_augment,
    dsa_strategy_for,
    parse_strategy,
    resolve_dsa_strategy,
    sample_dsa,
)

__all__ = [
    "AUTO",
    "DEFAULT_STRATEGY",
    "OPS",
    "DSADraw",
    "DSAParams",
    "draw_siamese",
    "dsa_augment",
    "dsa_strategy_for",
    "parse_strategy",
    "resolve_dsa_strategy",
    "sample_dsa",
]
