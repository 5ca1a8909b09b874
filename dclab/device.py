"""Run-time device choice: cuda, then mps, then cpu. Nothing in dclab hard-codes a device."""
from __future__ import annotations

import torch


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """Turn 'auto' / 'cpu' / 'cuda' / 'cuda:1' / 'mps' into a torch.device, checking it exists."""
    if isinstance(name, torch.device):
        return name
    if name in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but no CUDA GPU is available here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} was asked for but MPS is not available here")
    return device


def describe_device(device: torch.device) -> str:
    """Human-readable name: the GPU model, or 'CPU (N threads)'."""
    if device.type == "cuda":
        return f"CUDA GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


def prefers_batched(device: torch.device) -> bool:
    """The device rule for every `batched=None` setting (methods, evaluation): batched paths (all
    classes, or all K nets, in one call) on an accelerator; the plain loop on CPU, where it measured
    faster (benchmarks/condense_speed.py, benchmarks/eval_speed.py)."""
    return device.type != "cpu"


def conv_layout(device: torch.device) -> torch.memory_format:
    """Memory layout for convolution-heavy passes: channels-last (oneDNN's NHWC kernels) on CPU,
    the default layout elsewhere (evidence: benchmarks/roofline.py)."""
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format
