"""DC/DSA: the vmapped per-class gradient path equals the per-class reference loop."""
from __future__ import annotations

import pytest
import torch

from dclab.methods import get_method
from dclab.methods._matching import gradient_distance, layer_distance
from dclab.methods.dc import dc_class_losses, dc_class_losses_reference, loops_for_ipc

IPC = 3


def build(name, data, **overrides):
    cls = get_method(name)
    cfg = cls.config_class.build("cpu", {"width": 16, "batch_real": 16, "outer_loop": 2, "inner_loop": 1,
                                         **overrides})
    return cls(data, IPC, cfg, seed=0, device="cpu")


def matching_inputs(method, data):
    """Same recipe as DC._step: fresh net, (frozen BN), real batch, siamese augmentation."""
    net = method.new_net()
    method._freeze_bn(net)
    real = data.sample_per_class(method.real_batch, method.generator)
    syn = method.images.view(data.num_classes, IPC, *data.shape)
    real, syn = method._augment_pair(real, syn)
    return net, real, syn


@pytest.mark.parametrize("name", ["dc", "dsa"])
@pytest.mark.parametrize("norm", ["instancenorm", "batchnorm"])
@pytest.mark.parametrize("subset", [None, 2])
def test_fast_loss_and_image_grad_equal_reference(name, norm, subset, digits):
    method = build(name, digits, norm=norm)
    state = method.generator.get_state()
    results = []
    for fn in (dc_class_losses, dc_class_losses_reference):
        method.generator.set_state(state)  # same net, real batch and DSA draw for both paths
        net, real, syn = matching_inputs(method, digits)
        losses = fn(net, real, syn, subset)
        (grad,) = torch.autograd.grad(losses.sum(), method.images)
        results.append((losses.detach(), grad))
    (l_fast, g_fast), (l_ref, g_ref) = results
    assert l_fast.shape == (digits.num_classes,)
    torch.testing.assert_close(l_fast, l_ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(g_fast, g_ref, rtol=1e-3, atol=1e-4 * g_ref.abs().max().item())
    assert g_fast.abs().sum() > 0


@pytest.mark.parametrize("name", ["dc", "dsa"])
def test_fast_and_reference_steps_give_same_images(name, digits):
    fast, ref = build(name, digits, batched=True), build(name, digits, batched=False)
    m_fast, m_ref = fast.step(), ref.step()
    assert len(m_fast.class_losses) == digits.num_classes
    assert m_fast.loss == pytest.approx(m_ref.loss, rel=1e-4)
    torch.testing.assert_close(fast.images.detach(), ref.images.detach(), rtol=1e-4, atol=1e-4)


def test_image_update_lowers_matching_loss_on_its_network(digits):
    """Gradient descent on the images lowers the gradient distance for that net and batch."""
    method = build("dc", digits, lr_img=0.1)
    net, real, _ = matching_inputs(method, digits)
    losses = []
    for _ in range(5):
        loss = dc_class_losses(net, real, method.images.view(digits.num_classes, IPC, *digits.shape)).sum()
        method.optimizer.zero_grad()
        loss.backward()
        method.optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses


def test_gradient_distance_rules():
    g = torch.randn(4, 3, 3, 3)
    assert layer_distance(g, g).item() == pytest.approx(0.0, abs=1e-5)
    assert layer_distance(g, -g).item() == pytest.approx(2.0 * 4, rel=1e-4)  # 1 − (−1) per output row
    bias = torch.randn(4)
    assert layer_distance(bias, -bias).item() == 0.0  # 1-D params contribute nothing
    batched = torch.randn(5, 4, 3, 3, 3), torch.randn(5, 4, 3, 3, 3)
    per_item = torch.stack([gradient_distance([a], [b]) for a, b in zip(*batched)])
    torch.testing.assert_close(gradient_distance([batched[0]], [batched[1]], batch_dims=1), per_item)


def test_loops_by_ipc():
    assert loops_for_ipc(1) == (1, 1)
    assert loops_for_ipc(10) == (10, 50)
    assert loops_for_ipc(50) == (50, 10)
    assert loops_for_ipc(5) == (10, 50)  # between entries: the next tabulated IPC


def test_default_path_is_chosen_by_device(digits, monkeypatch):
    """batched=None on CPU: the per-class loop for a wide net (measured faster there), the vmapped
    call for a small one (dispatch-bound) and when asked for."""
    import dclab.methods.dc as dc_module

    def vmapped_path_used(*args, **kwargs):
        raise AssertionError("vmapped path used")

    monkeypatch.setattr(dc_module, "dc_class_losses", vmapped_path_used)
    method = build("dc", digits, width=64)
    assert method.config.batched is None and method.device.type == "cpu"
    method.step()  # the loop: no AssertionError
    with pytest.raises(AssertionError, match="vmapped path used"):
        build("dc", digits, batched=True).step()
    with pytest.raises(AssertionError, match="vmapped path used"):
        build("dc", digits).step()  # width 16: small, batched by default on CPU
