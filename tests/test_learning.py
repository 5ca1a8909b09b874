"""Gradient-matching methods learn on `digits`: after a small budget of steps the matching loss,
measured on fixed probe networks and real batches never used for the updates, has fallen.

(A method's own per-step loss is measured on a fresh random network every iteration, so it is
too noisy to compare across steps; fixed probes make "the loss falls" a sharp check.)
"""
from __future__ import annotations

import pytest
import torch

from dclab.methods import get_method
from dclab.methods.dc import dc_class_losses

IPC = 2
SMALL = {"width": 16, "batch_real": 32, "outer_loop": 1, "inner_loop": 1, "lr_img": 0.1, "iterations": 20}


def probe_loss(method, data, probes) -> float:
    """Mean DC matching loss of the current images over fixed (net, real batch) probes."""
    syn = method.images.detach().view(data.num_classes, IPC, *data.shape)
    return sum(dc_class_losses(net, real, syn).sum().item() for net, real in probes) / len(probes)


@pytest.mark.parametrize(("name", "extra"), [("dc", {}), ("dsa", {}), ("mdc", {"base": "dc", "delta_t": 5})])
def test_matching_loss_on_fixed_probes_falls(name, extra, digits):
    cls = get_method(name)
    method = cls(digits, IPC, cls.config_class.build("cpu", {**SMALL, **extra}), seed=0, device="cpu")
    gen = torch.Generator().manual_seed(123)  # probes: their own stream, not the method's
    probes = [(method.new_net(), digits.sample_per_class(64, gen)) for _ in range(3)]
    before = probe_loss(method, digits, probes)
    while not method.done:
        method.step()
    after = probe_loss(method, digits, probes)
    assert after < 0.85 * before, (before, after)
