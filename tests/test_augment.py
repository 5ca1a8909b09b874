"""DSA: siamese draws, every op changes images and is differentiable, seeds reproduce draws."""
from __future__ import annotations

import pytest
import torch

from dclab.augment import (
    DEFAULT_STRATEGY,
    OPS,
    DSAParams,
    dsa_augment,
    dsa_strategy_for,
    parse_strategy,
    resolve_dsa_strategy,
    sample_dsa,
)
from dclab.config import ConfigError
from dclab.seeding import make_generator

G, N, C, H, W = 6, 3, 3, 16, 16


def _images(seed: int = 0, channels: int = C) -> torch.Tensor:
    return torch.randn(G, N, channels, H, W, generator=make_generator(seed))  # (G, n, C, H, W)


def _draw_changing(op: str, x: torch.Tensor):
    """A draw of `op` that changes x (flip has probability 0.5 per group: retry a few seeds)."""
    for seed in range(20):
        draw = sample_dsa(op, G, make_generator(seed))
        if not torch.allclose(draw.apply(x), x):
            return draw
    raise AssertionError(f"{op} never changed the images")


@pytest.mark.parametrize("op", OPS)
def test_op_changes_images_and_keeps_shape(op):
    x = _images()
    draw = _draw_changing(op, x)
    assert draw.op == op
    out = draw.apply(x)
    assert out.shape == x.shape
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("op", OPS)
def test_same_draw_transforms_real_and_synthetic_identically(op):
    """Siamese: one draw applied to a batch and to a copy gives the same output."""
    x = _images()
    draw = _draw_changing(op, x)
    torch.testing.assert_close(draw.apply(x), draw.apply(x.clone()))
    # each image's output depends only on that image and its group's draw: applying the draw to
    # a different second image set (real vs synthetic) treats image 0 of each group the same
    other = _images(seed=1)
    other[:, 0] = x[:, 0]
    torch.testing.assert_close(draw.apply(other)[:, 0], draw.apply(x)[:, 0])


@pytest.mark.parametrize("op", ["crop", "cutout", "flip", "scale", "rotate"])
def test_params_shared_within_group_and_differ_across_groups(op):
    """All n images of a group get the same transform; groups get different transforms."""
    one = torch.randn(1, 1, C, H, W, generator=make_generator(3))
    x = one.expand(G, N, C, H, W).contiguous()  # the same image everywhere
    draw = _draw_changing(op, x)
    out = draw.apply(x)
    for g in range(G):
        for i in range(1, N):
            torch.testing.assert_close(out[g, i], out[g, 0])
    distinct = {tuple(out[g, 0].flatten()[:64].tolist()) for g in range(G)}
    assert len(distinct) > 1


def test_color_params_shared_within_group():
    """Colour: same image in every slot -> same output within a group, different across groups."""
    x = torch.randn(1, 1, C, H, W, generator=make_generator(3)).expand(G, N, C, H, W).contiguous()
    out = sample_dsa("color", G, make_generator(0)).apply(x)
    for g in range(G):
        torch.testing.assert_close(out[g, 1], out[g, 0])
    assert not torch.allclose(out[0, 0], out[1, 0])


@pytest.mark.parametrize("op", OPS)
def test_ops_are_differentiable(op):
    x = _images().requires_grad_(True)
    draw = _draw_changing(op, x.detach())
    weights = torch.randn(x.shape, generator=make_generator(7))
    (draw.apply(x) * weights).sum().backward()
    assert x.grad is not None
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0


def test_draws_reproducible_from_seed_and_vary_with_it():
    x = _images()
    a = sample_dsa(DEFAULT_STRATEGY, G, make_generator(5))
    b = sample_dsa(DEFAULT_STRATEGY, G, make_generator(5))
    assert a.op == b.op
    torch.testing.assert_close(a.apply(x), b.apply(x))
    outs = {sample_dsa(DEFAULT_STRATEGY, G, make_generator(s)).op for s in range(40)}
    assert outs == set(OPS)  # mode "S" picks every family


def test_dsa_augment_per_image_reproducible_and_differentiable():
    x = torch.randn(8, C, H, W, generator=make_generator(2), requires_grad=True)
    a = dsa_augment(x, "scale_rotate", make_generator(1))
    b = dsa_augment(x, "scale_rotate", make_generator(1))
    assert a.shape == x.shape
    torch.testing.assert_close(a, b)
    # independent params per image: the same image in two slots is transformed differently
    same = x[:1].expand(8, C, H, W)
    out = dsa_augment(same, "rotate", make_generator(3))
    assert not torch.allclose(out[0], out[1])
    a.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_saturation_is_noop_on_one_channel():
    x = _images(channels=1)
    sat_only = DSAParams(brightness=0.0, contrast=1.0)  # brightness 0 shift; contrast factor u+1
    draw = sample_dsa("color", G, make_generator(0), sat_only)
    # with contrast from u + 1 the output is (x - m) * c + m; undo it per group to isolate saturation
    c = (draw.u[:, 2] + 1.0).view(-1, 1, 1, 1, 1)
    m = x.mean(dim=(2, 3, 4), keepdim=True)
    torch.testing.assert_close(draw.apply(x), (x - m) * c + m)


def test_flip_is_exact_mirror():
    x = _images()
    draw = sample_dsa("flip", G, make_generator(0))
    out = draw.apply(x)
    for g in range(G):
        assert torch.equal(out[g], x[g].flip(-1)) or torch.equal(out[g], x[g])


def test_crop_is_integer_translation_with_zero_padding():
    x = _images()
    out = sample_dsa("crop", G, make_generator(4)).apply(x)
    for g in range(G):
        found = False
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                ref = torch.zeros_like(x[g])
                ys, yd = (slice(dy, H), slice(0, H - dy)) if dy >= 0 else (slice(0, H + dy), slice(-dy, H))
                xs, xd = (slice(dx, W), slice(0, W - dx)) if dx >= 0 else (slice(0, W + dx), slice(-dx, W))
                ref[..., yd, xd] = x[g][..., ys, xs]
                found = found or torch.allclose(out[g], ref, atol=1e-4)
        assert found, f"group {g} is not a translation by <= 2 pixels (0.125 * 16)"


def test_strategy_for_dataset_and_bad_names():
    assert "flip" not in parse_strategy(dsa_strategy_for("digits"))
    assert "flip" not in parse_strategy(dsa_strategy_for("MNIST"))
    assert dsa_strategy_for("cifar10") == DEFAULT_STRATEGY
    assert parse_strategy("none") == ()
    torch.testing.assert_close(dsa_augment(_images()[0], "none", make_generator(0)), _images()[0])
    with pytest.raises(ValueError, match="unknown DSA op"):
        sample_dsa("color_blur", 2, make_generator(0))


def test_one_resolver_keeps_an_explicit_strategy_and_resolves_auto():
    """'auto' is the only sentinel: an explicit full strategy on MNIST keeps flip (it used to be dropped)."""
    assert resolve_dsa_strategy("auto", "mnist") == dsa_strategy_for("mnist")
    assert resolve_dsa_strategy(DEFAULT_STRATEGY, "mnist") == DEFAULT_STRATEGY
    assert "flip" in parse_strategy(resolve_dsa_strategy(DEFAULT_STRATEGY, "digits"))
    with pytest.raises(ConfigError, match="unknown DSA op"):
        resolve_dsa_strategy("color_blur", "cifar10")


def test_evaluation_uses_the_strategy_the_protocol_names(digits):
    from dclab.eval.evaluate import evaluate_synthetic
    from dclab.eval.protocol import EvalProtocol
    from dclab.synthetic import SyntheticSet, class_major_labels

    order = torch.sort(digits.y_train[:200], stable=True)
    firsts = [int(order.indices[(order.values == c).nonzero()[0]]) for c in range(10)]
    real = SyntheticSet(images=digits.x_train[firsts], labels=class_major_labels(10, 1), dataset=digits.name,
                        class_names=digits.class_names, mean=digits.mean, std=digits.std, method="real")
    tiny = dict(models=1, epochs=1, batch_size=10, augment="dsa")
    auto = evaluate_synthetic(real, digits, EvalProtocol(**tiny), device="cpu", net_options={"width": 8})
    full = evaluate_synthetic(real, digits, EvalProtocol(**tiny, dsa_strategy=DEFAULT_STRATEGY), device="cpu",
                              net_options={"width": 8})
    assert auto.extra["dsa_strategy"] == dsa_strategy_for("digits")
    assert full.extra["dsa_strategy"] == DEFAULT_STRATEGY


def test_apply_checks_group_count():
    draw = sample_dsa("rotate", 3, make_generator(0))
    with pytest.raises(ValueError, match="G=3"):
        draw.apply(torch.zeros(2, 1, 1, 8, 8))
