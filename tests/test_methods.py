"""Contract tests for every registered condensation method (parametrised over METHODS).

Each method is built with its `cpu` preset plus tiny overrides (only the keys its config has),
on the embedded `digits` data, so a new method is tested for free.
"""
from __future__ import annotations

import dataclasses
import io
import math

import pytest
import torch

from dclab.config import ConfigError
from dclab.methods import get_method, list_methods
from dclab.methods._base import MethodConfig

IPC = 2
# Small-network / few-step settings; each method receives only the keys its config defines.
TINY = {
    "width": 16, "depth": 2, "batch_real": 16, "outer_loop": 2, "inner_loop": 1,
    "delta_t": 2, "kernel_depth": 1, "num_experts": 1, "max_start_epoch": 2,
    "expert_epochs": 1, "syn_epochs": 1,
}


def build(name: str, data, seed: int = 0, **extra):
    cls = get_method(name)
    fields = {f.name for f in cls.config_class.fields_info()}
    overrides = {k: v for k, v in TINY.items() if k in fields}
    overrides.update(extra)
    cfg = cls.config_class.build("cpu" if "cpu" in cls.config_class.PRESETS else None, overrides)
    return cls(data, IPC, cfg, seed=seed, device="cpu")


@pytest.mark.parametrize("name", list_methods())
def test_config_presets_and_help(name):
    cls = get_method(name)
    assert issubclass(cls.config_class, MethodConfig)
    assert {"paper", "cpu"} <= set(cls.config_class.PRESETS)
    for preset in ("paper", "cpu"):
        cfg = cls.config_class.build(preset)
        with pytest.raises(dataclasses.FrozenInstanceError):
            cfg.iterations = 3  # type: ignore[misc]
    assert all(f.help for f in cls.config_class.fields_info())
    with pytest.raises(ConfigError):
        cls.config_class.build("cpu", {"no_such_setting": 1})


@pytest.mark.parametrize("name", list_methods())
def test_step_and_synthetic_set(name, digits):
    method = build(name, digits, iterations=2)
    before = method.synthetic_set().images
    metrics = method.step()
    assert metrics.iteration == 1 and math.isfinite(metrics.loss)
    syn = method.synthetic_set()
    assert syn.images.shape == (digits.num_classes * IPC, *digits.shape)
    assert torch.equal(syn.labels, torch.arange(digits.num_classes).repeat_interleave(IPC))
    assert syn.method == name and syn.ipc == IPC
    assert not torch.equal(before, syn.images), "one step must change the synthetic images"
    assert torch.isfinite(syn.images).all()


@pytest.mark.parametrize("name", list_methods())
def test_resume_matches_uninterrupted_run(name, digits):
    """Stop at k, checkpoint, resume in a fresh instance: same images as a straight run (same seed)."""
    total, k = 4, 2
    straight = build(name, digits, iterations=total)
    while not straight.done:
        straight.step()

    first = build(name, digits, iterations=total)
    for _ in range(k):
        first.step()
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = build(name, digits, iterations=total)
    resumed.load_state_dict(torch.load(buffer, weights_only=False))
    assert resumed.iteration == k
    while not resumed.done:
        resumed.step()
    assert torch.equal(straight.synthetic_set().images, resumed.synthetic_set().images)


@pytest.mark.parametrize("name", list_methods())
def test_seed_changes_result(name, digits):
    a, b = build(name, digits, seed=0, iterations=1), build(name, digits, seed=1, iterations=1)
    a.step(), b.step()
    assert not torch.equal(a.synthetic_set().images, b.synthetic_set().images)
