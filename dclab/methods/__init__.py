"""Condensation methods behind one stepwise interface (`get_method`, `list_methods`)."""
from dclab.methods.base import (
    METHODS,
    CondensationMethod,
    MethodConfig,
    StepMetrics,
    get_method,
    list_methods,
)

__all__ = ["METHODS", "CondensationMethod", "MethodConfig", "StepMetrics", "get_method", "list_methods"]
