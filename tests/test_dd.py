"""DD: unrolled-step gradients are exact, the loss falls, learned lrs replay, state round-trips."""
from __future__ import annotations

import math

import pytest
import torch

from dclab.config import ConfigError
from dclab.methods import get_method
from dclab.methods._functional import detached_params
from dclab.methods.dd import DDConfig, replay_accuracy, step_groups, unrolled_loss
from dclab.nets import get_net


def make(digits, ipc=1, seed=0, **overrides):
    cfg = DDConfig.build("cpu", overrides)
    return get_method("dd")(digits, ipc, cfg, seed=seed, device="cpu")


def test_step_groups_partition_every_image_once():
    groups = step_groups(ipc=4, num_classes=3, syn_steps=2)
    assert len(groups) == 2
    assert sorted(torch.cat(groups).tolist()) == list(range(12))
    # group 0 holds the first two images of every class (class-major layout)
    assert groups[0].tolist() == [0, 1, 4, 5, 8, 9]


def test_unrolled_gradient_matches_finite_differences(digits):
    torch.manual_seed(0)
    net = get_net("convnet", channels=1, num_classes=10, image_size=(8, 8), seed=1, width=3, depth=1).double()
    params = detached_params(net)
    images = digits.x_train[:20].double().clone().requires_grad_(True)
    labels = digits.y_train[:20]
    groups = step_groups(ipc=2, num_classes=10, syn_steps=2)
    log_lrs = torch.tensor([math.log(0.3), math.log(0.2), math.log(0.1)], dtype=torch.float64, requires_grad=True)
    x_real, y_real = digits.x_train[100:160].double(), digits.y_train[100:160]

    def loss_at(img, llr):
        p = {k: v.clone() for k, v in params.items()}
        return unrolled_loss(net, p, img, labels, groups, llr.exp(), x_real, y_real)

    loss = loss_at(images, log_lrs)
    g_img, g_lr = torch.autograd.grad(loss, (images, log_lrs))
    eps = 1e-6
    with torch.no_grad():
        pix = (3, 0, 4, 5)
        plus, minus = images.detach().clone(), images.detach().clone()
        plus[pix] += eps
        minus[pix] -= eps
    with torch.enable_grad():
        fd_pix = (loss_at(plus, log_lrs.detach()) - loss_at(minus, log_lrs.detach())) / (2 * eps)
        lp, lm = log_lrs.detach().clone(), log_lrs.detach().clone()
        lp[1] += eps
        lm[1] -= eps
        fd_lr = (loss_at(images.detach(), lp) - loss_at(images.detach(), lm)) / (2 * eps)
    assert abs(g_img[pix].item()) > 1e-6 and abs(g_lr[1].item()) > 1e-6  # the check is not vacuous
    assert g_img[pix].item() == pytest.approx(fd_pix.item(), rel=1e-4, abs=1e-9)
    assert g_lr[1].item() == pytest.approx(fd_lr.item(), rel=1e-4, abs=1e-9)


@pytest.mark.parametrize("fixed_init", [False, True])
def test_loss_falls_and_replay_beats_untrained(digits, fixed_init):
    m = make(digits, ipc=1, fixed_init=fixed_init, batch_real=16)
    before = replay_accuracy(m, digits, models=2, device="cpu").mean
    losses = [m.step().loss for _ in range(25)]
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 0.1, (first, last)
    after = replay_accuracy(m, digits, models=2, device="cpu")
    assert after.mean > before + 0.1 and after.mean > 0.3, (before, after.accs)
    syn = m.synthetic_set()
    assert syn.extras["lrs"].shape == (m.syn_steps * m.config.syn_epochs,)
    assert (syn.extras["lrs"] > 0).all()
    assert ("init_params" in syn.extras) == fixed_init


def test_state_dict_resume_equals_uninterrupted(digits):
    full = make(digits, ipc=2, seed=3)
    for _ in range(4):
        full.step()
    part = make(digits, ipc=2, seed=3)
    for _ in range(2):
        part.step()
    state = part.state_dict()
    resumed = make(digits, ipc=2, seed=3)
    resumed.load_state_dict(state)
    for _ in range(2):
        resumed.step()
    assert torch.equal(full.images.detach(), resumed.images.detach())
    assert torch.equal(full.lrs, resumed.lrs)
    assert not torch.allclose(full.lrs, torch.full_like(full.lrs, 0.1))  # lrs were actually learned


def test_syn_steps_must_divide_ipc(digits):
    with pytest.raises(ConfigError, match="divide"):
        make(digits, ipc=3, syn_steps=2)
