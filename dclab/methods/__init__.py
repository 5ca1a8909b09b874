"""Condensation methods behind one stepwise interface (`get_method`, `list_methods`).

Every module in this package is imported here, so its `@METHODS.register` classes exist.
"""
from dclab.autoload import import_submodules
from dclab.methods._base import (
    METHODS,
    CondensationMethod,
    MethodConfig,
    StepMetrics,
    get_method,
    list_methods,
)

__all__ = ["METHODS", "CondensationMethod", "MethodConfig", "StepMetrics", "get_method", "list_methods"]

import_submodules(__name__, __path__)
