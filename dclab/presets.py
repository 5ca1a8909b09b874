"""Config policy, in one place: which preset applies where.

- A method run without a named preset gets `default_preset(device, config_class)`: 'paper' (the
  published settings) on an accelerator, 'cpu' (a small budget) on a CPU.
- Evaluation budgets follow the same rule (`resolve_budget`): the `published` protocol is scaled
  down on a CPU (`dclab.eval.published`).
- Evaluations inside a condensation run (`eval_every`) use `DEFAULT_EVAL_PRESET` unless the run says
  otherwise.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from dclab.config import BaseConfig

BUDGETS = ("auto", "paper", "cpu")
DEFAULT_EVAL_PRESET = "quick"


def budget_for(device: torch.device) -> str:
    """'cpu' on a CPU, 'paper' on an accelerator: the one rule behind every default below."""
    return "cpu" if device.type == "cpu" else "paper"


def resolve_budget(budget: str, device: str | torch.device = "auto") -> str:
    """'auto' -> `budget_for(device)`; 'paper' and 'cpu' as given; anything else a one-line ValueError."""
    if budget not in BUDGETS:
        raise ValueError(f"unknown budget {budget!r}; choose one of: {', '.join(BUDGETS)}")
    if budget != "auto":
        return budget
    from dclab.device import resolve_device

    return budget_for(resolve_device(device))


def default_preset(device: torch.device, config_class: type[BaseConfig]) -> str | None:
    """The preset named by `budget_for(device)`, when the config defines it (else None: defaults)."""
    wanted = budget_for(device)
    return wanted if wanted in config_class.PRESETS else None
