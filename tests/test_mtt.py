"""MTT: the expert buffer is cached and reused, the flat student equals plain SGD, MTT learns."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dclab.methods import get_method
from dclab.methods.functional import FlatNet
from dclab.methods.mtt import MTTConfig, student_trajectory, trajectory_loss
from dclab.methods.trajectories import ExpertSpec, build_or_load_buffer
from dclab.nets import get_net


@pytest.fixture(scope="module")
def experts_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("experts")


def make(digits, experts_dir, ipc=2, seed=0, progress=None, **overrides):
    cfg = MTTConfig.build("cpu", {"experts_dir": str(experts_dir), **overrides})
    return get_method("mtt")(digits, ipc, cfg, seed=seed, device="cpu", progress=progress)


def test_buffer_is_built_once_and_reused(digits, tmp_path):
    spec = ExpertSpec(net="convnet", net_options={"width": 8, "depth": 1}, num_experts=2, epochs=2, seed=1)
    calls: list[tuple[int, int]] = []
    first = build_or_load_buffer(digits, spec, cache_dir=tmp_path, device="cpu", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert first.trajectories.shape[:2] == (2, 3)
    mtime = first.path.stat().st_mtime_ns
    calls.clear()
    again = build_or_load_buffer(digits, spec, cache_dir=tmp_path, device="cpu", progress=lambda d, t: calls.append((d, t)))
    assert calls == [] and again.path.stat().st_mtime_ns == mtime
    assert torch.equal(first.trajectories, again.trajectories)
    # experts really trained: each epoch moves the weights, and experts differ
    assert (first.trajectories[:, 1:] - first.trajectories[:, :-1]).norm(dim=-1).min() > 0
    assert not torch.equal(first.trajectories[0], first.trajectories[1])
    # a different spec is a different cache entry
    assert ExpertSpec(**{**spec.__dict__, "lr": 0.02}).key(digits) != spec.key(digits)


def test_flat_student_equals_module_sgd(digits):
    """Fast path (one flat vector, functional_call) == reference path (nn.Module + torch.optim.SGD)."""
    net = get_net("convnet", channels=1, num_classes=10, image_size=(8, 8), seed=0, width=4, depth=1).double()
    flat = FlatNet.wrap(net)
    start = flat.flat_params()
    images, labels = digits.x_train[:30].double(), digits.y_train[:30]
    batches = [torch.arange(0, 15), torch.arange(15, 30), torch.arange(5, 20)]
    lr = torch.tensor(0.05, dtype=torch.float64)
    fast = student_trajectory(flat, start, images, labels, lr, batches)

    ref = get_net("convnet", channels=1, num_classes=10, image_size=(8, 8), seed=0, width=4, depth=1).double()
    opt = torch.optim.SGD(ref.parameters(), lr=0.05)
    for idx in batches:
        opt.zero_grad()
        F.cross_entropy(ref(images[idx]), labels[idx]).backward()
        opt.step()
    expected = torch.nn.utils.parameters_to_vector(ref.parameters())
    torch.testing.assert_close(fast.detach(), expected.detach(), rtol=1e-10, atol=1e-12)
    assert not torch.allclose(fast, start)
    assert trajectory_loss(start, start, expected).item() == pytest.approx(1.0)


def test_mtt_loss_falls_and_reuses_buffer(digits, experts_dir):
    calls: list[int] = []
    m = make(digits, experts_dir, progress=lambda d, t: calls.append(d))
    cfg = m.config
    assert len(calls) == cfg.num_experts * (cfg.max_start_epoch + cfg.expert_epochs)
    losses = [m.step().loss for _ in range(30)]
    assert sum(losses[-10:]) / 10 < 0.8 * sum(losses[:10]) / 10, losses
    assert m.synthetic_set().extras["syn_lr"] != cfg.lr_teacher
    calls.clear()
    make(digits, experts_dir, seed=1, progress=lambda d, t: calls.append(d))
    assert calls == []  # second run loads the cached experts


def test_state_dict_resume_equals_uninterrupted(digits, experts_dir):
    full = make(digits, experts_dir, seed=2)
    for _ in range(4):
        full.step()
    part = make(digits, experts_dir, seed=2)
    for _ in range(2):
        part.step()
    resumed = make(digits, experts_dir, seed=2)
    resumed.load_state_dict(part.state_dict())
    for _ in range(2):
        resumed.step()
    assert torch.equal(full.images.detach(), resumed.images.detach())
    assert torch.equal(full.syn_lr.detach(), resumed.syn_lr.detach())
