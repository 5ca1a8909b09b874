"""DM: one-forward loss equals the per-class loop; the loss falls; BN uses two separate forwards."""
from __future__ import annotations

import pytest
import torch

from dclab.methods import get_method
from dclab.methods.dm import dm_class_losses, dm_class_losses_reference

IPC = 3


def build(data, **overrides):
    cls = get_method("dm")
    cfg = cls.config_class.build("cpu", {"width": 16, "batch_real": 32, **overrides})
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
    a, b = build(digits, batched=True, iterations=3), build(digits, batched=False, iterations=3)
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


def _two_forward_reference(net, real, syn):
    """The authors' BN path: one forward of all real images, one of all synthetic images."""
    k, b, n = real.shape[0], real.shape[1], syn.shape[1]
    emb_real = net.embed(real.reshape(k * b, *real.shape[2:])).detach().reshape(k, b, -1)
    emb_syn = net.embed(syn.reshape(k * n, *syn.shape[2:])).reshape(k, n, -1)
    return ((emb_real.mean(1) - emb_syn.mean(1)) ** 2).sum(-1)  # (classes,)


def test_batchnorm_uses_two_separate_forwards(digits):
    """BN: loss and image gradient equal the two-forward reference, not one joint real+synthetic batch."""
    method = build(digits, norm="batchnorm")
    net = method.new_net().requires_grad_(False).train()
    real = digits.sample_per_class(method.real_batch, method.generator)
    syn = method.images.view(digits.num_classes, IPC, *digits.shape)
    got = dm_class_losses(net, real, syn)
    (g_got,) = torch.autograd.grad(got.sum(), method.images)
    ref = _two_forward_reference(net, real, syn)
    (g_ref,) = torch.autograd.grad(ref.sum(), method.images)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(g_got, g_ref, rtol=1e-3, atol=1e-4 * g_ref.abs().max().item())
    emb = net.embed(torch.cat([real.flatten(0, 1), syn.flatten(0, 1)]))  # the old joint batch differs
    joint = ((emb[: real.shape[0] * real.shape[1]].view(*real.shape[:2], -1).mean(1)
              - emb[real.shape[0] * real.shape[1]:].view(*syn.shape[:2], -1).mean(1)) ** 2).sum(-1)
    assert not torch.allclose(joint, ref, rtol=1e-3)
    method.step()  # the BN variant runs


def test_lr_img_is_10_from_ipc_100(digits):
    """Authors: lr_img 10 for IPC >= 100 (1 below), unless lr_img is set."""
    cls = get_method("dm")
    assert cls(digits, 10, cls.config_class.build("paper"), device="cpu").optimizer.param_groups[0]["lr"] == 1.0
    big = cls(digits, 100, cls.config_class.build("paper", {"iterations": 1}), device="cpu")
    assert big.optimizer.param_groups[0]["lr"] == 10.0
    fixed = cls(digits, 100, cls.config_class.build("paper", {"lr_img": 3.0}), device="cpu")
    assert fixed.optimizer.param_groups[0]["lr"] == 3.0


def test_default_path_is_chosen_by_device(digits, monkeypatch):
    """batched=None: per-class loop on CPU (faster there); the batched path when asked, or for BN."""
    import dclab.methods.dm as dm_module

    def batched_path_used(*args, **kwargs):
        raise AssertionError("batched path used")

    monkeypatch.setattr(dm_module, "dm_class_losses", batched_path_used)
    method = build(digits)
    assert method.config.batched is None and method.device.type == "cpu"
    method.step()
    for overrides in ({"batched": True}, {"norm": "batchnorm"}):
        with pytest.raises(AssertionError, match="batched path used"):
            build(digits, **overrides).step()
