"""DM: one-forward loss equals the per-class loop; the loss falls; BN shares batch statistics."""
from __future__ import annotations

import pytest
import torch

from dclab.methods import get_method
from dclab.methods.dm import dm_class_losses, dm_class_losses_reference

IPC = 3


def build(data, **overrides):
    cls = get_method("dm")
    cfg = cls.config_class.build("cpu", {"net_width": 16, "batch_real": 32, **overrides})
    return cls(data, IPC, cfg, seed=0, device="cpu")


@pytest.mark.parametrize("subset", [None, 1])
def test_one_forward_equals_per_class_loop(subset, digits):
    method = build(digits)
    net = method.new_net().requires_grad_(False)
    real = digits.sample_per_class(method.real_batch, method.generator)
    syn = method.images.view(digits.num_classes, IPC, *digits.shape)
    fast = dm_class_losses(net, real, syn, subset)
    (g_fast,) = torch.autograd.grad(fast.sum(), method.images)
    ref = dm_class_losses_reference(net, real, syn, subset)
    (g_ref,) = torch.autograd.grad(ref.sum(), method.images)
    assert fast.shape == (digits.num_classes,)
    torch.testing.assert_close(fast, ref, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(g_fast, g_ref, rtol=1e-3, atol=1e-4 * g_ref.abs().max().item())


def test_fast_and_reference_steps_agree(digits):
    a, b = build(digits, fast=True, iterations=3), build(digits, fast=False, iterations=3)
    for _ in range(3):
        ma, mb = a.step(), b.step()
    assert ma.loss == pytest.approx(mb.loss, rel=1e-4)
    torch.testing.assert_close(a.images.detach(), b.images.detach(), rtol=1e-4, atol=1e-5)


def test_network_is_not_trained_and_images_move(digits):
    method = build(digits, iterations=1)
    before = method.images.detach().clone()
    metrics = method.step()
    assert len(metrics.class_losses) == digits.num_classes
    assert sum(metrics.class_losses) == pytest.approx(metrics.loss, rel=1e-5)
    assert not torch.equal(before, method.images.detach())


def test_loss_falls_from_noise(digits):
    """From noise, the mean-embedding distance drops within a few steps (fixed seed, CPU margin)."""
    method = build(digits, init="noise", dsa=False, batch_real=128, lr_img=30.0, iterations=16)
    losses = [method.step().loss for _ in range(16)]
    first, last = sum(losses[:2]) / 2, sum(losses[-8:]) / 8
    assert last < 0.92 * first, losses


def test_batchnorm_real_and_synthetic_share_batch_statistics(digits):
    """BN: the loss of one joint batch differs from separate per-class batches (shared statistics)."""
    method = build(digits, norm="batchnorm")
    net = method.new_net().requires_grad_(False).train()
    real = digits.sample_per_class(method.real_batch, method.generator)
    syn = method.images.view(digits.num_classes, IPC, *digits.shape)
    joint = dm_class_losses(net, real, syn)
    separate = dm_class_losses_reference(net, real, syn)
    assert not torch.allclose(joint, separate)
    method.step()  # the BN variant runs (always through the joint batch)


def test_default_path_is_chosen_by_device(digits, monkeypatch):
    """fast=None: per-class loop on CPU (faster there); the batched path when asked, or for BN."""
    import dclab.methods.dm as dm_module

    def batched_path_used(*args, **kwargs):
        raise AssertionError("batched path used")

    monkeypatch.setattr(dm_module, "dm_class_losses", batched_path_used)
    method = build(digits)
    assert method.config.fast is None and method.device.type == "cpu"
    method.step()
    for overrides in ({"fast": True}, {"norm": "batchnorm"}):
        with pytest.raises(AssertionError, match="batched path used"):
            build(digits, **overrides).step()
