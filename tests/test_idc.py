"""IDC: multi-formation decode (shapes, layout, gradients), matching loss, real-data net training."""
from __future__ import annotations

import pytest
import torch

from dclab.formation import decode_formation, mosaic
from dclab.methods import get_method
from dclab.methods.idc import conv_grad_distance

IPC = 2


def build(data, **overrides):
    cls = get_method("idc")
    cfg = cls.config_class.build("cpu", {"width": 16, "batch_real": 16, "inner_loop": 1, "n_data": 32,
                                         **overrides})
    return cls(data, IPC, cfg, seed=0, device="cpu")


def test_decode_shapes_layout_and_gradient():
    x = torch.randn(3, 2, 8, 6, requires_grad=True)
    out = decode_formation(x, 2)
    assert out.shape == (12, 2, 8, 6)
    # a constant block decodes to a constant image of that value, image-major, row-major blocks
    blocks = torch.arange(8.0).view(8, 1, 1, 1).expand(8, 1, 4, 4).contiguous()
    decoded = decode_formation(mosaic(blocks, 2), 2)
    torch.testing.assert_close(decoded, blocks)
    # gradient of decoded image j of stored image i reaches only block j of image i
    (g,) = torch.autograd.grad(out[5].sum(), x)  # stored image 1, block (0, 1)
    assert g[0].abs().sum() == 0 and g[2].abs().sum() == 0
    assert g[1, :, :4, 3:].abs().sum() > 0 and g[1, :, 4:].abs().sum() == 0 and g[1, :, :4, :3].abs().sum() == 0
    assert torch.equal(decode_formation(x, 1), x)
    with pytest.raises(ValueError):
        decode_formation(torch.randn(1, 1, 7, 7), 2)


def test_conv_grad_distance_matches_only_conv_weights():
    conv, bias, fc = torch.randn(4, 3, 3, 3), torch.randn(4), torch.randn(10, 5)
    zero = [torch.zeros_like(t) for t in (conv, bias, fc)]
    assert conv_grad_distance([conv, bias, fc], zero, "mse") == conv.pow(2).sum()
    assert conv_grad_distance([conv, bias, fc], zero, "l1") == conv.abs().sum()


def test_step_mix_init_and_synthetic_set(digits):
    method = build(digits, iterations=2)
    s0 = method.synthetic_set()
    assert s0.ipc == IPC and s0.formation_factor == 2
    dec = s0.decoded()
    assert dec.images.shape == (digits.num_classes * IPC * 4, *digits.shape) and dec.formation_factor == 1
    assert torch.equal(dec.labels, torch.arange(digits.num_classes).repeat_interleave(IPC * 4))
    metrics = method.step()
    assert metrics.loss > 0 and len(metrics.class_losses) == digits.num_classes
    assert not torch.equal(s0.images, method.synthetic_set().images)


def test_subset_term_changes_loss_and_frozen_images_get_no_gradient(digits):
    a, b = build(digits, iterations=1, momentum_img=0.0), build(digits, iterations=1, momentum_img=0.0)
    before = a.images.detach().clone().view(digits.num_classes, IPC, -1)
    plain = a.matching_step()[0]
    with_subset = b.matching_step(subset=1, frozen=1)[0]
    assert with_subset > plain  # same draws, an extra non-negative term
    after = b.images.detach().view(digits.num_classes, IPC, -1)
    assert torch.equal(before[:, :1], after[:, :1]) and not torch.equal(before[:, 1:], after[:, 1:])


def test_net_is_trained_on_real_data_between_rounds(digits):
    """With n_data = 0 the matching net never changes, so the loss differs from a trained-net run."""
    trained = build(digits, iterations=1, inner_loop=3, n_data=200).step().loss
    frozen = build(digits, iterations=1, inner_loop=3, n_data=0).step().loss
    assert trained != frozen


def test_published_protocol_and_evaluation_uses_decoded_images(digits):
    overrides, source = get_method("idc").published_protocol("cifar10", 10)
    assert overrides["augment"] == "dsa" and "Kim" in source
    from dclab.eval.evaluate import evaluate_synthetic
    from dclab.eval.protocol import EvalProtocol

    syn = build(digits, iterations=1).synthetic_set()
    result = evaluate_synthetic(syn, digits, EvalProtocol.build("quick", {"models": 1, "epochs": 2}), device="cpu",
                                net_options={"width": 16})
    assert 0.0 <= result.mean <= 1.0
