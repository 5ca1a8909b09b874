"""Every registered network on every input shape the lab uses: shapes, gradients, seeding."""
from __future__ import annotations

import pytest
import torch

from dclab.nets import NETS, get_net
from dclab.nets.layers import has_batchnorm

SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]
NUM_CLASSES = 7  # not 10, so a hard-coded class count would show


SMALL_WIDTH = 16  # CPU-sized nets; `test_reference_widths` builds the published sizes once


def _build(name: str, shape: tuple[int, int, int], seed: int = 0, **options) -> torch.nn.Module:
    """A small instance: width 16 where the net has a `width` option (all but LeNet)."""
    kwargs = dict(channels=shape[0], num_classes=NUM_CLASSES, image_size=shape[1:], seed=seed)
    try:
        return get_net(name, width=SMALL_WIDTH, **kwargs, **options)
    except TypeError:  # no width option
        return get_net(name, **kwargs, **options)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", NETS.names())
def test_forward_embed_backward(name: str, shape: tuple[int, int, int]) -> None:
    net = _build(name, shape)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, *shape, generator=gen, requires_grad=True)

    logits = net(x)
    feats = net.embed(x)
    assert logits.shape == (3, NUM_CLASSES)
    assert feats.ndim == 2 and feats.shape[0] == 3 and feats.shape[1] > 0
    # features depend on the input (e.g. instancenorm on a 1x1 map would make them constant)
    assert (feats[0] - feats[1]).abs().max() > 1e-3  # (a dead net's float noise is ~1e-7)
    # embed is exactly what the classifier sees: forward == classifier(embed)
    torch.testing.assert_close(net.classifier(feats), logits)

    (logits.square().mean() + feats.mean()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for pname, p in net.named_parameters():
        assert p.grad is not None, f"{name}: no grad for {pname}"
        assert torch.isfinite(p.grad).all(), f"{name}: non-finite grad for {pname}"


@pytest.mark.parametrize("name", NETS.names())
def test_seed_fixes_initial_weights(name: str) -> None:
    shape = (1, 8, 8)
    a, b, c = _build(name, shape, seed=3), _build(name, shape, seed=3), _build(name, shape, seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    weights = [k for k, v in sa.items() if v.is_floating_point() and v.ndim >= 2]
    assert weights and all(not torch.equal(sa[k], sc[k]) for k in weights)
    # seeding is local: it leaves the global RNG where it was
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    _build(name, shape, seed=5)
    assert torch.equal(torch.rand(1), expected)


@pytest.mark.parametrize("name", NETS.names())
def test_fits_a_few_digits(name: str, digits) -> None:
    """20 Adam steps on 8 real digits (4 classes) must cut the training loss by at least 20%."""
    net = _build(name, digits.shape, seed=0)
    x = digits.sample_per_class(2, torch.Generator().manual_seed(0))[:4].flatten(0, 1)  # (8, 1, 8, 8)
    y = torch.arange(4).repeat_interleave(2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses[::5]


# published sizes (DC reference networks.py), input 3x32x32, 10 classes
REFERENCE_PARAMS = {"mlp": 411_146, "lenet": 62_006, "resnet18": 11_173_962, "vgg11": 9_231_114}


@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS))
def test_reference_widths(name: str) -> None:
    net = get_net(name, channels=3, num_classes=10, image_size=(32, 32), seed=0)
    assert sum(p.numel() for p in net.parameters()) == REFERENCE_PARAMS[name]
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("name", NETS.names())
def test_vmap_over_stacked_nets_matches_loop(name: str) -> None:
    """Many nets at once (torch.func.stack_module_state + vmap), as batched evaluation does.

    BatchNorm nets update running statistics in place in train mode, so they are run in eval mode.
    """
    from torch.func import functional_call, stack_module_state, vmap

    shape = (1, 8, 8)
    nets = [_build(name, shape, seed=s) for s in (0, 1)]
    has_bn = has_batchnorm(nets[0])
    for n in nets:
        n.train(not has_bn)
    params, buffers = stack_module_state(nets)
    x = torch.randn(2, 3, *shape, generator=torch.Generator().manual_seed(0))  # (nets, batch, C, H, W)

    def run(p, b, xi):
        return functional_call(nets[0], (p, b), (xi,))

    fast = vmap(run)(params, buffers, x)  # (2, 3, classes)
    slow = torch.stack([n(xi) for n, xi in zip(nets, x)])
    torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("size", "depth", "final_hw"), [((8, 8), 2, 2), ((28, 28), 3, 4), ((32, 32), 3, 4)])
def test_convnet_default_depth_keeps_final_maps_at_least_2x2(size, depth, final_hw) -> None:
    """Depth 3 by default (the reference), 2 on 8x8 digits, where a third block would pool to 1x1."""
    net = get_net("convnet", channels=1, num_classes=10, image_size=size, seed=0, width=8)
    convs = [m for m in net.features if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == depth
    assert net.feature_dim == 8 * final_hw * final_hw
    assert net.embed(torch.randn(2, 1, *size)).shape == (2, net.feature_dim)
    explicit = get_net("convnet", channels=1, num_classes=10, image_size=size, seed=0, width=8, depth=1)
    assert len([m for m in explicit.features if isinstance(m, torch.nn.Conv2d)]) == 1
