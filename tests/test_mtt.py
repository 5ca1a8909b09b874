"""MTT: the expert buffer is cached and reused, the flat student equals plain SGD, MTT learns."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dclab.methods import get_method
from dclab.methods._functional import FlatNet
from dclab.methods._trajectories import ExpertSpec, build_or_load_buffer
from dclab.methods.mtt import MTTConfig, student_trajectory, trajectory_loss
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


def test_student_steps_use_per_image_dsa_and_it_changes_the_loss(digits, experts_dir):
    """As the authors' DiffAugment (non-siamese): one op family per step, independent draws per image."""
    from dclab.augment.dsa import dsa_augment

    same = digits.x_train[:1].repeat(6, 1, 1, 1)
    out = dsa_augment(same, "rotate", torch.Generator().manual_seed(0))
    assert not torch.allclose(out[0], out[1])  # independent parameters per image
    plain = make(digits, experts_dir, seed=3, augment="none").step().loss
    with_dsa = make(digits, experts_dir, seed=3).step().loss
    assert plain != with_dsa
    m = make(digits, experts_dir, seed=3)
    net, start = m.flat_net, m.buffer.params(0, 0)
    calls = []
    student_trajectory(net, start, m.images, m.labels, m.syn_lr, [torch.arange(4), torch.arange(4)],
                       augment=lambda x: calls.append(x.shape) or x)
    assert calls == [torch.Size([4, *digits.shape])] * 2  # a fresh draw at every student step


def test_expert_cache_key_covers_augmentation_zca_epochs_and_net(digits):
    spec = ExpertSpec(net_options={"width": 8, "depth": 1}, num_experts=1, epochs=2)
    variants = [{"augment": "none"}, {"zca_eps": 0.1}, {"epochs": 3}, {"net_options": {"width": 16, "depth": 1}},
                {"dsa_strategy": "crop"}]
    keys = {spec.key(digits)} | {ExpertSpec(**{**spec.__dict__, **v}).key(digits) for v in variants}
    assert len(keys) == 1 + len(variants)


def test_paper_presets_and_published_protocol():
    from dclab.methods.mtt import PAPER_TABLE, paper_preset_name

    for (dataset, ipc), row in PAPER_TABLE.items():
        cfg = MTTConfig.build(paper_preset_name(dataset, ipc))
        assert (cfg.syn_steps, cfg.expert_epochs, cfg.max_start_epoch, cfg.zca) == (
            row["syn_steps"], row["expert_epochs"], row["max_start_epoch"], row["zca"])
        assert cfg.augment == "dsa"
    overrides, source = get_method("mtt").published_protocol("mnist", 10)
    assert overrides == {"epochs": 1000, "augment": "dsa", "lr_source": "learned"} and "Cazenavette" in source


def test_zca_run_condenses_whitened_and_shows_data_space(digits, experts_dir):
    m = make(digits, experts_dir, seed=4, zca=True)
    assert m.zca is not None and not torch.allclose(m.data.x_train, digits.x_train)
    from dclab.methods._base import init_images

    syn = m.synthetic_set()  # before any step: the initial real images, back in data space
    torch.testing.assert_close(syn.images, init_images(digits, 2, "real", 4), atol=1e-4, rtol=1e-4)
    assert syn.extras["zca_eps"] == 0.1
    m.step()
