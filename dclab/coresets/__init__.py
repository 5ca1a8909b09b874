"""Coreset baselines (random, herding, k-center, forgetting): real training images as a `SyntheticSet`.

Every module in this package is imported here, so its `@CORESETS.register` selectors exist.
"""
from dclab.autoload import import_submodules
from dclab.coresets.registry import CORESETS, list_coresets, select_coreset

__all__ = ["CORESETS", "list_coresets", "select_coreset"]

import_submodules(__name__, __path__)
